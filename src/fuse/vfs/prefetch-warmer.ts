/**
 * Files a folder prefetch loads are opened by readers one at a time, each open then costing a
 * round trip to the worker for its lease: in a first epoch, the readers that come to files
 * already loaded are held up by the mount's own CPU. So the mount follows what the local
 * worker's prefetches have loaded (a cursor into the worker's list, polled while files are
 * waiting) and leases every file that is wholly in, in batches, as warm handles: the reader's
 * open then finds its file open already.
 */
import type { FileSystem } from '../../client/file-system.js';
import type { Logger } from '../../common/logging.js';
import { blockIdOf, type FileInfo, type WorkerAddress } from '../../common/types.js';

export interface PrefetchWarmerOptions {
  /** How often the worker is asked while files wait. */
  pollMs: number;
  /** A file not loaded by then (read by a reader first, or its prefetch dropped) is forgotten. */
  maxWaitMs: number;
}

/** A file a reader opened this long before a prefetch asks for it is not followed. */
const OPENED_LATELY_MS = 10_000;
/** Files remembered as opened by readers. */
const MAX_OPENED = 65_536;

interface Waiting {
  info: FileInfo;
  blocks: Set<number>;
  sinceMs: number;
}

export class PrefetchWarmer {
  private readonly files = new Map<number, Waiting>();
  private readonly fileOfBlock = new Map<number, number>();
  /** Files readers opened afresh lately, when; the oldest are forgotten first. */
  private readonly openedByReaders = new Map<number, number>();
  private worker?: { address: WorkerAddress; cursor: number };
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly fs: FileSystem,
    /** Leases a wholly loaded file and keeps it open for its next open. */
    private readonly warm: (info: FileInfo) => void,
    private readonly opts: PrefetchWarmerOptions,
    private readonly logger: Logger,
  ) {}

  /**
   * Follows these files until their blocks are loaded. Called before the prefetch is asked for,
   * so the cursor is taken before any of their blocks can be loaded. False when there is no
   * single local worker to follow (remote workers' cache files cannot be leased from here).
   */
  async follow(files: FileInfo[]): Promise<boolean> {
    if (this.opts.pollMs <= 0) return false;
    if (!this.worker) {
      const address = await this.fs.picker.onlyLocal();
      if (!address) return false;
      // The worker's cursor now: what it loaded before is not these files'.
      const { next } = await this.fs.prefetchLoaded(address, Number.MAX_SAFE_INTEGER);
      this.worker ??= { address, cursor: next };
    }
    const now = Date.now();
    for (const info of files) {
      if (info.blockSize <= 0 || info.length === 0 || this.files.has(info.fileId)) continue;
      if (now - (this.openedByReaders.get(info.fileId) ?? -Infinity) < OPENED_LATELY_MS) continue;
      const blocks = new Set(Array.from({ length: Math.ceil(info.length / info.blockSize) }, (_, i) => blockIdOf(info.fileId, i)));
      this.files.set(info.fileId, { info, blocks, sinceMs: now });
      for (const id of blocks) this.fileOfBlock.set(id, info.fileId);
    }
    this.schedule();
    return true;
  }

  /**
   * A reader opened this file afresh: it is not followed, now or by a prefetch asked for within
   * OPENED_LATELY_MS. Its reader's own fill may load it, and the worker lists only what its
   * prefetches loaded: followed, it would keep the mount polling until maxWaitMs, long after the job.
   */
  opened(fileId: number): void {
    if (this.opts.pollMs <= 0) return;
    this.openedByReaders.delete(fileId);
    this.openedByReaders.set(fileId, Date.now());
    if (this.openedByReaders.size > MAX_OPENED) this.openedByReaders.delete(this.openedByReaders.keys().next().value!);
    const w = this.files.get(fileId);
    if (!w) return;
    this.files.delete(fileId);
    for (const id of w.blocks) this.fileOfBlock.delete(id);
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.files.clear();
    this.fileOfBlock.clear();
    this.openedByReaders.clear();
  }

  private schedule(): void {
    if (this.timer || this.files.size === 0) return;
    this.timer = setTimeout(() => {
      void this.poll().finally(() => {
        this.timer = undefined;
        this.schedule();
      });
    }, this.opts.pollMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    const worker = this.worker!;
    try {
      const { next, blockIds } = await this.fs.prefetchLoaded(worker.address, worker.cursor);
      worker.cursor = next;
      for (const id of blockIds) {
        const fileId = this.fileOfBlock.get(id);
        if (fileId === undefined) continue;
        this.fileOfBlock.delete(id);
        const w = this.files.get(fileId);
        if (!w) continue;
        w.blocks.delete(id);
        if (w.blocks.size > 0) continue;
        this.files.delete(fileId);
        this.warm(w.info);
      }
    } catch (err) {
      // The worker is away: its prefetches are lost with it; readers open the slow way.
      this.logger.debug({ err: (err as Error).message }, 'prefetch progress unavailable');
      this.forget(() => true);
      this.worker = undefined;
      return;
    }
    const cutoff = Date.now() - this.opts.maxWaitMs;
    this.forget((w) => w.sinceMs < cutoff);
  }

  private forget(which: (w: Waiting) => boolean): void {
    for (const [fileId, w] of this.files) {
      if (!which(w)) continue;
      this.files.delete(fileId);
      for (const id of w.blocks) this.fileOfBlock.delete(id);
    }
  }
}
