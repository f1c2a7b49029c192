/**
 * Reads a Strata file by position. Each read picks the fastest source for its block:
 * short-circuit from a local worker's cache file, else a worker that caches the block, else a
 * worker that reads it through from the UFS (caching it per the read type). Sequential readers
 * get a read-ahead window that doubles up to strata.user.file.readahead.max, fetched one window
 * ahead; random readers fetch just what they ask for. If a worker dies mid-read, the read goes
 * on through another worker from the UFS when the file is persisted, and fails clearly if not.
 */
import { StrataError } from '../common/errors.js';
import type { FileInfo, ReadType } from '../common/types.js';
import type { RpcClient } from '../common/rpc/client.js';
import { ShortCircuitReader, readFillingLocally, readViaWorker, type LeaseKeeper, type WorkerClients } from './block-source.js';
import { isLocalHost, addressKey, type WorkerPicker } from './worker-picker.js';

export interface InStreamDeps {
  picker: WorkerPicker;
  workers: WorkerClients;
  refresh(): Promise<FileInfo>;
  readType: ReadType;
  shortCircuit: boolean;
  /** Keeps the short-circuit leases taken on a worker alive while they are held. */
  leaseKeeper(worker: RpcClient): LeaseKeeper;
  readAheadMax: number;
  chunkSize: number;
}

interface Window {
  start: number;
  data: Buffer;
}

interface PendingWindow {
  start: number;
  end: number;
  sequential: boolean;
  data: Promise<Window>;
}

export class FileInStream {
  private shortCircuit = new Map<string, ShortCircuitReader>();
  private windows: PendingWindow[] = [];
  /** The furthest byte read so far. */
  private lastEnd = 0;
  private windowSize: number;
  private closed = false;

  constructor(
    public info: FileInfo,
    private readonly d: InStreamDeps,
  ) {
    this.windowSize = d.chunkSize;
  }

  get length(): number {
    return this.info.length;
  }

  /** Reads up to `length` bytes at `position` into `buf`; returns how many (0 at the end). */
  async read(buf: Buffer, position: number, length = buf.length): Promise<number> {
    if (this.closed) throw new StrataError('FAILED_PRECONDITION', `${this.info.path} is closed`);
    if (position >= this.info.length || length === 0) return 0;
    let done = 0;
    const end = Math.min(this.info.length, position + length);
    while (position + done < end) {
      const pos = position + done;
      const n = await this.readInBlock(buf.subarray(done), pos, end - pos);
      done += n;
    }
    this.lastEnd = Math.max(this.lastEnd, position + done);
    return done;
  }

  /** Reads the whole file as a sequence of chunks (cat, copyToLocal). */
  async *chunks(size = 4 << 20): AsyncGenerator<Buffer> {
    for (let pos = 0; pos < this.info.length; ) {
      const buf = Buffer.allocUnsafe(Math.min(size, this.info.length - pos));
      const n = await this.read(buf, pos);
      yield buf.subarray(0, n);
      pos += n;
    }
  }

  private blockOf(pos: number): number {
    return Math.floor(pos / this.info.blockSize);
  }

  private async readInBlock(into: Buffer, pos: number, want: number): Promise<number> {
    const index = this.blockOf(pos);
    const block = this.info.blocks![index]!;
    const inBlock = pos - block.offset;
    const n = Math.min(want, block.length - inBlock);
    const sc = await this.shortCircuitFor(index);
    if (sc) return sc.read(block.blockId, inBlock, into, n);
    // Served from the read-ahead window?
    const w = await this.windowFor(pos, n, index);
    const from = pos - w.start;
    const take = Math.min(n, w.data.length - from);
    w.data.copy(into, 0, from, from + take);
    return take;
  }

  private async shortCircuitFor(index: number): Promise<ShortCircuitReader | undefined> {
    if (!this.d.shortCircuit || this.d.readType === 'NO_CACHE') return undefined;
    const block = this.info.blocks![index]!;
    const loc = block.locations.find((l) => isLocalHost(l.address.host) && !this.d.picker.isDead(l.address));
    if (!loc) return undefined;
    const key = addressKey(loc.address);
    let reader = this.shortCircuit.get(key);
    if (!reader) {
      const worker = this.d.workers.of(loc.address);
      this.shortCircuit.set(key, (reader = new ShortCircuitReader(worker, this.d.leaseKeeper(worker))));
    }
    if (reader.has(block.blockId)) return reader;
    // Lease every block of this file cached on that worker at once: one call per file, not per block.
    const ids = this.info.blocks!.filter((b) => b.locations.some((l) => addressKey(l.address) === key) && !reader.has(b.blockId)).map((b) => b.blockId);
    try {
      if (await reader.lease(ids, this.d.readType === 'CACHE_PROMOTE')) return reader;
      if (await reader.lease([block.blockId], this.d.readType === 'CACHE_PROMOTE')) return reader;
    } catch (err) {
      if (!StrataError.isCode(err, 'UNAVAILABLE')) throw err;
      this.d.picker.markDead(loc.address);
    }
    return undefined;
  }

  /**
   * The window holding `pos`: one already fetched or in flight (several reads at once, as the
   * kernel sends them, share fetches instead of repeating them), else a new one. A read at or
   * just past the furthest byte asked for so far counts as sequential: its window doubles and
   * the next one is fetched ahead; any other read fetches just what it asks for.
   */
  private async windowFor(pos: number, n: number, index: number): Promise<Window> {
    const covering = this.windows.find((w) => pos >= w.start && pos < w.end);
    if (covering) {
      const w = await covering.data;
      if (covering === this.windows[this.windows.length - 1] && covering.sequential) this.prefetch(covering.end);
      if (pos < w.start + w.data.length) return w;
    }
    const block = this.info.blocks![index]!;
    const sequential = pos >= this.lastEnd && pos <= this.lastEnd + this.windowSize;
    this.windowSize = sequential ? Math.min(this.windowSize * 2, this.d.readAheadMax) : this.d.chunkSize;
    const len = Math.min(sequential ? Math.max(n, this.windowSize) : n, block.offset + block.length - pos);
    const w = this.track(pos, len, sequential);
    if (sequential) this.prefetch(pos + len);
    return w.data;
  }

  private track(start: number, length: number, sequential: boolean): PendingWindow {
    const index = this.blockOf(start);
    const block = this.info.blocks![index]!;
    const pending: PendingWindow = { start, end: start + length, sequential, data: this.fetch(index, start - block.offset, length) };
    pending.data.catch(() => {
      this.windows = this.windows.filter((w) => w !== pending);
    });
    this.windows.push(pending);
    // A few windows are enough: the one being read, the one ahead, and reads in flight.
    if (this.windows.length > 4) this.windows.shift();
    return pending;
  }

  /** Starts fetching the window at `next`, so a sequential reader never waits on a round trip. */
  private prefetch(next: number): void {
    if (next >= this.info.length || this.windows.some((w) => next >= w.start && next < w.end)) return;
    const block = this.info.blocks![this.blockOf(next)]!;
    if (block.locations.some((l) => isLocalHost(l.address.host)) && this.d.shortCircuit) return;
    this.track(next, Math.min(this.windowSize, block.offset + block.length - next), true);
  }

  private async fetch(index: number, offset: number, length: number, attempt = 0): Promise<Window> {
    const block = this.info.blocks![index]!;
    const loc = this.d.picker.bestLocation(block.locations);
    const address = loc?.address ?? (this.info.persistenceState === 'PERSISTED' ? await this.d.picker.home(this.info.fileId) : undefined);
    if (!address) throw this.lost(index);
    const data = Buffer.allocUnsafe(length);
    try {
      const client = this.d.workers.of(address);
      const local = !loc && this.d.shortCircuit && this.d.readType !== 'NO_CACHE' && isLocalHost(address.host) && this.info.persistenceState === 'PERSISTED';
      if (!local || (await readFillingLocally(client, this.info, index, offset, length, data)) === undefined) {
        await readViaWorker(client, this.info, index, offset, length, this.d.readType, data);
      }
      return { start: block.offset + offset, data };
    } catch (err) {
      const retryable = StrataError.isCode(err, 'UNAVAILABLE') || (StrataError.isCode(err, 'NOT_FOUND') && loc !== undefined);
      if (!retryable || attempt >= 3) throw err;
      // A worker that answered is alive, whatever it said (its UFS may be down).
      if (StrataError.isCode(err, 'UNAVAILABLE') && !(err as StrataError).remote) this.d.picker.markDead(address);
      // The block moved or its worker died: ask the master where things are now.
      const fresh = await this.d.refresh();
      if (fresh.fileId !== this.info.fileId || fresh.length !== this.info.length) {
        throw new StrataError('FAILED_PRECONDITION', `${this.info.path} changed while being read`);
      }
      this.info = fresh;
      await this.d.picker.live(true);
      if (!this.d.picker.bestLocation(fresh.blocks![index]!.locations) && fresh.persistenceState !== 'PERSISTED') throw this.lost(index);
      return this.fetch(index, offset, length, attempt + 1);
    }
  }

  private lost(index: number): StrataError {
    const block = this.info.blocks![index]!;
    return new StrataError(
      'UNAVAILABLE',
      `Block ${block.blockId} of ${this.info.path} is unavailable: no live worker caches it and the file is ${this.info.persistenceState}, so it cannot be read from the UFS`,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.windows = [];
    for (const r of this.shortCircuit.values()) await r.close();
  }
}
