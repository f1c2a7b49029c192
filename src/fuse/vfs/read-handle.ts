/**
 * An open file for reading, and where its bytes can come from, fastest first:
 * - the whole file cached in ONE local cache file (the worker's layout puts block i at offset
 *   i * blockSize, so file offsets are cache-file offsets): the mount can hand that file to the
 *   kernel (passthrough) or answer READs from its descriptor in native code;
 * - some blocks cached locally: those ranges are answered from their cache file descriptor;
 * - otherwise the client's stream (remote worker or read-through from the UFS).
 * Local cache files are leased from the worker for as long as the handle is open, so nothing
 * is evicted or punched under a reader.
 */
import { closeSync, open as openCb, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import type { FileSystem } from '../../client/file-system.js';
import type { FileInStream } from '../../client/file-in-stream.js';
import { requestFill, type ShortCircuitReader } from '../../client/block-source.js';
import type { RpcClient } from '../../common/rpc/client.js';
import { blockIdOf, type FileInfo, type ReadType, type WorkerAddress } from '../../common/types.js';
import { isLocalHost, addressKey } from '../../client/worker-picker.js';
import { isMemoryBacked } from '../../common/memory-fs.js';

const pOpen = promisify(openCb);

export interface LocalRange {
  fd: number;
  /** Offset in the cache file (equal to the file offset: same layout). */
  offset: number;
}

/** How much more than a read wants to wait for in a cold block: 1 MiB reads then cost a round trip per 4. */
const FILL_AHEAD = 3 << 20;

interface FillingBlock {
  fd: number;
  /** Where the block starts in its cache file. */
  offset: number;
  /** Bytes of the block known to be in. */
  filled: number;
  /** The fill is leased by this handle: its bytes stay until the handle closes. */
  leased?: boolean;
  asking?: Promise<unknown>;
  askingUntil: number;
}

export class ReadHandle {
  private stream?: Promise<FileInStream>;
  private local?: ShortCircuitReader;
  /** The local worker this handle leases from, if any. */
  localWorker?: WorkerAddress;
  private readonly fds = new Map<string, number>();
  private readonly opening = new Map<string, Promise<number>>();
  /** The single cache file holding the whole file, when there is one. */
  wholeFile?: { cacheFile: string; fd: number };
  /** When the handle's first lease was taken: leases expire, so a kept handle's age counts from here. */
  leasedAtMs?: number;
  /** Blocks this handle had the local worker fill from the UFS. */
  readonly filled = new Set<number>();
  /** Fills this handle reads from, by block index: what the worker said is in so far. */
  private readonly filling = new Map<number, FillingBlock>();
  private readonly fillLeases: Array<{ worker: RpcClient; leaseId: string }> = [];
  private fillHome?: WorkerAddress;
  /**
   * Set by whoever opens the file on this handle without telling it (the FUSE edge's native
   * opens): asked before a kept handle is closed; true (open now, or used within `recentMs`)
   * keeps it open.
   */
  inUseElsewhere?: (recentMs: number) => boolean;
  /** Told once the handle is closed (the FUSE edge drops its passthrough backing id). */
  private readonly closeHooks: Array<() => void> = [];

  private constructor(
    readonly info: FileInfo,
    private readonly fs: FileSystem,
    private readonly readType: ReadType,
  ) {}

  /** Opens with the block locations in `info` (getStatus with blocks). */
  static async open(fs: FileSystem, info: FileInfo, readType: ReadType): Promise<ReadHandle> {
    const h = new ReadHandle(info, fs, readType);
    if (readType === 'NO_CACHE') return h;
    const byWorker = new Map<string, { address: WorkerAddress; ids: number[] }>();
    for (const b of info.blocks ?? []) {
      const loc = b.locations.find((l) => isLocalHost(l.address.host));
      if (!loc) continue;
      const entry = byWorker.get(addressKey(loc.address)) ?? { address: loc.address, ids: [] };
      entry.ids.push(b.blockId);
      byWorker.set(addressKey(loc.address), entry);
    }
    // One local worker is the common case; lease from the one holding the most blocks.
    const best = [...byWorker.values()].sort((a, b) => b.ids.length - a.ids.length)[0];
    if (best) await h.lease(best.address, best.ids);
    return h;
  }

  /**
   * Opens a file that metadata (say, from a directory listing) shows wholly cached, asking only
   * the local worker for a lease: no master round trip. Undefined when that worker does not
   * hold it all (it moved, or was evicted), and the caller opens the slow way.
   */
  static async openWhollyCached(fs: FileSystem, info: FileInfo, readType: ReadType): Promise<ReadHandle | undefined> {
    if (readType === 'NO_CACHE' || info.inAlluxioPercentage !== 100 || info.length === 0 || info.blockSize <= 0) return undefined;
    const h = new ReadHandle(info, fs, readType);
    return (await h.leaseWhole()) ? h : undefined;
  }

  /** Leases every block of the file from the one local worker; true when they all are leased. */
  async leaseWhole(): Promise<boolean> {
    const { info } = this;
    if (info.blockSize <= 0) return false;
    const local = await this.fs.picker.onlyLocal();
    if (!local) return false;
    const ids = Array.from({ length: Math.ceil(info.length / info.blockSize) }, (_, i) => blockIdOf(info.fileId, i));
    return this.lease(local, ids);
  }

  /** Leases blocks from a local worker (the one this handle already leases from, if any). */
  private async lease(address: WorkerAddress, ids: number[]): Promise<boolean> {
    // One reader per handle, set before any await: concurrent reads lease through it, and
    // closing it releases every lease they took.
    if (!this.local) {
      const reader = this.fs.localWorkerReader(address);
      if (!reader) return false;
      this.local = reader;
      this.localWorker = address;
    }
    if (addressKey(this.localWorker!) !== addressKey(address)) return false;
    const reader = this.local;
    try {
      if (!(await reader.lease(ids, this.readType === 'CACHE_PROMOTE'))) return false;
    } catch {
      return false; // the worker is gone: the stream path copes
    }
    this.leasedAtMs ??= Date.now();
    for (const id of ids) await this.fdOf(reader.location(id)!.cacheFile);
    this.checkWhole();
    return true;
  }

  /** A local cache file range covering [offset, offset+size), when one holds it all. */
  localRange(offset: number, size: number): LocalRange | undefined {
    if (!this.local || this.info.blockSize <= 0) return undefined;
    if (this.wholeFile) return { fd: this.wholeFile.fd, offset };
    const first = Math.floor(offset / this.info.blockSize);
    const last = Math.floor((Math.min(offset + size, this.info.length) - 1) / this.info.blockSize);
    let file: string | undefined;
    for (let i = first; i <= last; i++) {
      const loc = this.local.location(blockIdOf(this.info.fileId, i));
      if (!loc || (file !== undefined && loc.cacheFile !== file)) return undefined;
      file = loc.cacheFile;
    }
    return file === undefined ? undefined : { fd: this.fds.get(file)!, offset };
  }

  /**
   * The range from the start of `offset`'s block that may be read from one cache file without
   * asking anyone, every byte of it leased (cached blocks, and what leased fills have brought
   * in so far), so that the mount's native replies can answer reads in it. File offsets are
   * cache-file offsets (the worker's layout).
   */
  readyRange(offset: number): { fd: number; start: number; end: number } | undefined {
    const { info } = this;
    if (this.wholeFile) return { fd: this.wholeFile.fd, start: 0, end: info.length };
    if (info.blockSize <= 0) return undefined;
    const start = Math.floor(offset / info.blockSize) * info.blockSize;
    let fd: number | undefined;
    let end = start;
    for (let at = start; at < info.length; at += info.blockSize) {
      const index = at / info.blockSize;
      const blockEnd = Math.min(info.length, at + info.blockSize);
      const loc = this.local?.location(blockIdOf(info.fileId, index));
      const f = loc ? undefined : this.filling.get(index);
      const blockFd = loc ? this.fds.get(loc.cacheFile) : f?.leased && f.fd >= 0 && f.offset === at ? f.fd : undefined;
      if (blockFd === undefined || (fd !== undefined && blockFd !== fd)) break;
      fd = blockFd;
      end = loc ? blockEnd : at + f!.filled;
      if (end < blockEnd) break;
    }
    return fd === undefined || end <= offset ? undefined : { fd, start, end };
  }

  /**
   * True when reading will bring the file into the local worker's cache (the blocks not cached
   * are filled there from the UFS): the mount then needs no second copy in the kernel's page cache.
   */
  async fillsLocally(): Promise<boolean> {
    const { info } = this;
    if (this.wholeFile || this.readType === 'NO_CACHE' || !info.blocks || info.blockSize <= 0 || info.persistenceState !== 'PERSISTED') return false;
    // Blocks held only by other workers come over the network: the page cache is worth it there.
    if (!info.blocks.some((b) => b.locations.length === 0)) return false;
    if (info.blocks.some((b) => b.locations.length > 0 && !b.locations.some((l) => isLocalHost(l.address.host)))) return false;
    try {
      this.fillHome ??= await this.fs.picker.home(info.fileId);
    } catch {
      return false;
    }
    return this.fs.localWorkerClient(this.fillHome) !== undefined;
  }

  /**
   * A range of a cold block that the local worker fills from the UFS: where its bytes are in the
   * cache file once they are in, so the mount replies from that file and the data never passes
   * through JavaScript. The handle leases the fill, so every byte the worker said is in may be
   * read without asking again; the worker is asked only past that point, and then for a little
   * more than the read wants, so one round trip serves several reads. Undefined when this path
   * does not apply (the stream's paths do).
   */
  async fillingRange(offset: number, size: number): Promise<LocalRange | undefined> {
    const { info } = this;
    if (this.readType === 'NO_CACHE' || !info.blocks || info.blockSize <= 0 || info.persistenceState !== 'PERSISTED') return undefined;
    const index = Math.floor(offset / info.blockSize);
    const block = info.blocks[index];
    if (!block || block.locations.length > 0 || offset + size > block.offset + block.length) return undefined;
    const end = offset - block.offset + size;
    for (;;) {
      const f = this.filling.get(index);
      if (f && f.filled >= end) return { fd: f.fd, offset: f.offset + offset - block.offset };
      if (f?.asking && f.askingUntil >= end) {
        await f.asking;
        continue;
      }
      const state = f ?? { fd: -1, offset: 0, filled: 0, askingUntil: 0 };
      this.filling.set(index, state);
      state.askingUntil = end;
      const asking = (state.asking = this.askFill(index, end, state));
      const outcome = await asking.finally(() => {
        if (state.asking === asking) state.asking = undefined;
      });
      if (outcome === 'cached') return (await this.lease(this.fillHome!, [block.blockId])) ? this.localRange(offset, size) : undefined;
      if (outcome === 'fallback') return undefined;
    }
  }

  private async askFill(index: number, until: number, state: FillingBlock): Promise<'filling' | 'cached' | 'fallback'> {
    const { info } = this;
    this.fillHome ??= await this.fs.picker.home(info.fileId);
    const worker = this.fs.localWorkerClient(this.fillHome);
    if (!worker) return 'fallback';
    const block = info.blocks![index]!;
    const r = await requestFill(worker, info, index, until, { ahead: FILL_AHEAD, lease: !state.leased, promote: this.readType === 'CACHE_PROMOTE' });
    if (r.leaseId) {
      state.leased = true;
      this.leasedAtMs ??= Date.now();
      this.fillLeases.push({ worker, leaseId: r.leaseId });
      this.fs.leaseKeeper(worker).hold(r.leaseId);
    }
    if (r.cached) return 'cached';
    if (!r.cacheFile || r.offset === undefined || r.filled === undefined) return 'fallback';
    this.filled.add(index);
    state.fd = await this.fdOf(r.cacheFile);
    state.offset = r.offset;
    state.filled = Math.max(state.filled, r.filled);
    if (state.filled === block.length) this.checkWhole();
    return 'filling';
  }

  /** Reads through the client (remote worker or the UFS). */
  async read(offset: number, size: number): Promise<Buffer> {
    // One stream per handle, however many READs arrive at once before it is open.
    this.stream ??= this.fs.openFile(this.info.path, { readType: this.readType, info: this.info });
    const stream = await this.stream;
    const buf = Buffer.allocUnsafe(Math.max(0, Math.min(size, this.info.length - offset)));
    let done = 0;
    while (done < buf.length) {
      const n = await stream.read(buf.subarray(done), offset + done);
      if (n === 0) break;
      done += n;
    }
    return buf.subarray(0, done);
  }

  /**
   * Read cold to the end, a handle may come to hold the whole file: every block either leased
   * whole from its fill or leased as cached, all in one cache file. It then serves like one
   * opened on a cached file (and can be kept open for the next open).
   */
  private checkWhole(): void {
    const { info } = this;
    if (this.wholeFile || info.blockSize <= 0 || this.fds.size !== 1) return;
    for (let i = 0; i * info.blockSize < info.length; i++) {
      const f = this.filling.get(i);
      const whole = f?.leased && f.filled === Math.min(info.blockSize, info.length - i * info.blockSize);
      if (!whole && !this.local?.has(blockIdOf(info.fileId, i))) return;
    }
    const [cacheFile, fd] = [...this.fds][0]!;
    this.wholeFile = { cacheFile, fd };
  }

  /** The handle's descriptor of a cache file, opened once however many reads ask at once. */
  private fdOf(cacheFile: string): Promise<number> {
    const fd = this.fds.get(cacheFile);
    if (fd !== undefined) return Promise.resolve(fd);
    let opening = this.opening.get(cacheFile);
    if (!opening) {
      // A memory tier's file opens in microseconds: not worth a trip through the thread pool.
      opening = (isMemoryBacked(dirname(cacheFile)) ? new Promise<number>((resolve) => resolve(openSync(cacheFile, 'r'))) : pOpen(cacheFile, 'r'))
        .then((opened) => {
          this.fds.set(cacheFile, opened);
          return opened;
        })
        .finally(() => this.opening.delete(cacheFile));
      this.opening.set(cacheFile, opening);
    }
    return opening;
  }

  onClose(hook: () => void): void {
    this.closeHooks.push(hook);
  }

  async release(): Promise<void> {
    for (const hook of this.closeHooks.splice(0)) hook();
    await (await this.stream?.catch(() => undefined))?.close();
    // A close of a local file only drops a reference: never worth the thread pool.
    for (const fd of this.fds.values()) {
      try {
        closeSync(fd);
      } catch {
        // Closed already.
      }
    }
    this.fds.clear();
    await this.local?.close();
    for (const { worker, leaseId } of this.fillLeases.splice(0)) await this.fs.leaseKeeper(worker).release(leaseId);
  }
}
