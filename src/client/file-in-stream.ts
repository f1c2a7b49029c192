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
import { ShortCircuitReader, readViaWorker, type WorkerClients } from './block-source.js';
import { isLocalHost, addressKey, type WorkerPicker } from './worker-picker.js';

export interface InStreamDeps {
  picker: WorkerPicker;
  workers: WorkerClients;
  refresh(): Promise<FileInfo>;
  readType: ReadType;
  shortCircuit: boolean;
  readAheadMax: number;
  chunkSize: number;
}

interface Window {
  start: number;
  data: Buffer;
}

export class FileInStream {
  private shortCircuit = new Map<string, ShortCircuitReader>();
  private window?: Window;
  private ahead?: { start: number; promise: Promise<Window> };
  private lastEnd = -1;
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
    this.lastEnd = position + done;
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
    if (!reader) this.shortCircuit.set(key, (reader = new ShortCircuitReader(this.d.workers.of(loc.address))));
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

  private async windowFor(pos: number, n: number, index: number): Promise<Window> {
    const covers = (w: Window | undefined) => w && pos >= w.start && pos < w.start + w.data.length;
    if (covers(this.window)) return this.window!;
    if (this.ahead && this.ahead.start === pos) {
      this.window = await this.ahead.promise.catch(() => undefined);
      this.ahead = undefined;
      if (covers(this.window)) {
        this.prefetch(index);
        return this.window!;
      }
    }
    const block = this.info.blocks![index]!;
    const sequential = pos === this.lastEnd || (this.window !== undefined && pos === this.window.start + this.window.data.length);
    if (sequential) this.windowSize = Math.min(this.windowSize * 2, this.d.readAheadMax);
    else this.windowSize = this.d.chunkSize;
    const size = sequential ? Math.max(n, this.windowSize) : n;
    const len = Math.min(size, block.offset + block.length - pos);
    this.window = await this.fetch(index, pos - block.offset, len);
    if (sequential) this.prefetch(index);
    return this.window;
  }

  /** Starts fetching the window after the current one, so a sequential reader never waits on a round trip. */
  private prefetch(index: number): void {
    const w = this.window!;
    const next = w.start + w.data.length;
    if (next >= this.info.length || this.ahead?.start === next) return;
    const nextIndex = this.blockOf(next);
    const block = this.info.blocks![nextIndex]!;
    if (nextIndex !== index && block.locations.some((l) => isLocalHost(l.address.host))) return;
    const len = Math.min(this.windowSize, block.offset + block.length - next);
    const promise = this.fetch(nextIndex, next - block.offset, len);
    promise.catch(() => undefined);
    this.ahead = { start: next, promise };
  }

  private async fetch(index: number, offset: number, length: number, attempt = 0): Promise<Window> {
    const block = this.info.blocks![index]!;
    const loc = this.d.picker.bestLocation(block.locations);
    const address = loc?.address ?? (this.info.persistenceState === 'PERSISTED' ? await this.d.picker.home(this.info.fileId) : undefined);
    if (!address) throw this.lost(index);
    const data = Buffer.allocUnsafe(length);
    try {
      await readViaWorker(this.d.workers.of(address), this.info, index, offset, length, this.d.readType, data);
      return { start: block.offset + offset, data };
    } catch (err) {
      const retryable = StrataError.isCode(err, 'UNAVAILABLE') || (StrataError.isCode(err, 'NOT_FOUND') && loc !== undefined);
      if (!retryable || attempt >= 3) throw err;
      if (StrataError.isCode(err, 'UNAVAILABLE')) this.d.picker.markDead(address);
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
    this.window = undefined;
    this.ahead = undefined;
    for (const r of this.shortCircuit.values()) await r.close();
  }
}
