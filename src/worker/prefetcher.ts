/**
 * Background loads asked for ahead of readers (a mount that sees a folder read cold in shuffled
 * order hands over the folder's other files): blocks are filled from the UFS many at once, so
 * that a dataset's first epoch is bounded by the UFS's bandwidth, not by how many files the
 * readers happen to ask for at a time. Readers of a block being prefetched join its fill.
 *
 * A prefetch evicts only what no one has used lately: its blocks go where a tier has free room
 * (the store's free-only placement), while the tiers keep some room free for readers' fills;
 * past that, in place of blocks not used for `evictIdleMs` (an older dataset), and the rest of
 * the queue is dropped when there are none. Blocks a reader asks for meanwhile are filled at
 * once, never queued behind it.
 */
import type { Logger } from '../common/logging.js';
import type { BlockStore } from './block-store/index.js';
import { BlockFiller, type FillTarget } from './block-fill.js';

/** Loaded block ids remembered for loadedSince(); a mount polls far more often than this fills. */
const MAX_RECENT = 100_000;
/**
 * Fills a prefetch starts in one turn of the event loop, the rest in the turns after: a start's
 * cache file, signature and request run in the microtasks that follow it, so 128 started at
 * once held the loop for 20-30 ms, and the mount's requests of that time (the readers' opens and
 * reads, and the fills they wait on) came only after them. Between turns the loop takes them.
 */
const STARTS_PER_TURN = 8;

export interface PrefetcherOptions {
  /** Fills in flight at once. */
  concurrency: number;
  /** Most blocks waiting; asks beyond it are dropped. */
  maxQueued: number;
  /** Room left free in the tiers, as a fraction of their capacity (readers' fills need it). */
  headroom: number;
  /** Past the headroom, blocks not used for this long may be evicted for a prefetch (0: none). */
  evictIdleMs: number;
}

export class Prefetcher {
  private readonly queue: FillTarget[] = [];
  private readonly queued = new Set<number>();
  private running = 0;
  /** A pump put off to the next turn (see STARTS_PER_TURN). */
  private pumpLater?: NodeJS.Immediate;
  private closed = false;
  /** Bytes of prefetches started whose space the store has not reserved yet. */
  private starting = 0;
  /** Files forgotten while prefetches of theirs were in flight: those blocks go once loaded. */
  private readonly forgotten = new Set<number>();
  dropped = 0;
  /** Blocks loaded lately, oldest first: `recent[i]` was the (recentBase + i + 1)th loaded. */
  private recent: number[] = [];
  private recentBase = 0;

  constructor(
    private readonly store: BlockStore,
    private readonly filler: BlockFiller,
    private readonly opts: PrefetcherOptions,
    private readonly logger: Logger,
  ) {}

  /** Queues blocks to load; answers how many were taken (not cached, not already queued or filling). */
  add(targets: FillTarget[]): number {
    if (this.closed) return 0;
    let taken = 0;
    for (const t of targets) {
      if (this.queue.length >= this.opts.maxQueued) break;
      if (this.queued.has(t.blockId) || this.store.has(t.blockId) || this.filler.inFlight(t.blockId)) continue;
      this.queue.push(t);
      this.queued.add(t.blockId);
      taken++;
    }
    this.pump();
    return taken;
  }

  /**
   * Drops what is queued for these files (freed, or deleted from Strata alone) and removes the
   * blocks that prefetches in flight bring in for them: a free must not be undone a moment later.
   */
  forgetFiles(fileIds: Iterable<number>): void {
    const ids = new Set(fileIds);
    if (ids.size === 0 || this.pending === 0) return;
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const t = this.queue[i]!;
      if (!ids.has(t.fileId)) continue;
      this.queue.splice(i, 1);
      this.queued.delete(t.blockId);
    }
    for (const id of ids) this.forgotten.add(id);
  }

  /**
   * Blocks loaded since cursor `after` (0: the first ever) and the cursor to ask with next: a
   * mount that asked for a prefetch learns which files are in, and leases them in batches before
   * its readers open them one by one. A cursor past the end (the worker restarted) starts over.
   */
  loadedSince(after: number): { next: number; blockIds: number[] } {
    const next = this.loaded;
    if (after > next) return { next, blockIds: [] };
    return { next, blockIds: this.recent.slice(Math.max(0, after - this.recentBase)) };
  }

  /** Blocks loaded so far. */
  get loaded(): number {
    return this.recentBase + this.recent.length;
  }

  /** Drops what is queued and starts no more (the worker is stopping); fills in flight end on their own. */
  close(): void {
    if (this.pumpLater) clearImmediate(this.pumpLater);
    this.pumpLater = undefined;
    this.clearQueue();
    this.closed = true;
  }

  get pending(): number {
    return this.queue.length + this.running;
  }

  private roomFor(bytes: number): boolean {
    let capacity = 0;
    let used = 0;
    for (const t of this.store.usage()) {
      capacity += t.capacityBytes;
      used += t.usedBytes;
    }
    return capacity - used - this.starting - bytes >= capacity * this.opts.headroom;
  }

  private pump(): void {
    if (this.pumpLater || this.closed) return;
    let started = 0;
    while (this.running < this.opts.concurrency && this.queue.length > 0) {
      if (started === STARTS_PER_TURN) {
        this.pumpLater = setImmediate(() => {
          this.pumpLater = undefined;
          this.pump();
        });
        return;
      }
      const t = this.queue.shift()!;
      this.queued.delete(t.blockId);
      if (this.store.has(t.blockId) || this.filler.inFlight(t.blockId)) continue;
      let length: number;
      try {
        length = BlockFiller.blockLength(t);
      } catch {
        continue;
      }
      const evicting = !this.roomFor(length);
      if (evicting && !(this.opts.evictIdleMs > 0)) {
        this.stop(1);
        return;
      }
      started++;
      this.running++;
      void this.load(t, length, evicting).finally(() => {
        this.running--;
        if (this.running === 0 && this.queue.length === 0) this.forgotten.clear();
        this.pump();
      });
    }
  }

  /** No room left that a prefetch may take: what is queued is dropped (`extra`: taken off already). */
  private stop(extra = 0): void {
    const dropped = this.queue.length + extra;
    if (dropped === 0) return;
    this.dropped += dropped;
    this.logger.info({ dropped }, 'prefetch stopped: the cache has no room left that it may take (free, or held by blocks idle for strata.worker.prefetch.evict.idle)');
    this.clearQueue();
  }

  private clearQueue(): void {
    for (const q of this.queue.splice(0)) this.queued.delete(q.blockId);
  }

  /** Loads one block: into free room, or (`evicting`) into room made by evicting idle blocks. */
  private async load(t: FillTarget, length: number, evicting: boolean): Promise<void> {
    try {
      this.starting += length;
      let fill;
      try {
        if (evicting && (await this.store.evictIdle(length, this.opts.evictIdleMs)) < length) {
          this.stop();
          return;
        }
        fill = await this.filler.start(t, { noEviction: true });
      } finally {
        this.starting -= length;
      }
      if (!fill) {
        // Room a reader took meanwhile: the next block evicts for itself, if it may.
        if (!this.roomFor(length) && !(this.opts.evictIdleMs > 0)) this.stop();
        return;
      }
      await fill.done;
      this.recent.push(t.blockId);
      if (this.recent.length > MAX_RECENT) {
        const gone = this.recent.length - MAX_RECENT / 2;
        this.recent = this.recent.slice(gone);
        this.recentBase += gone;
      }
      if (this.forgotten.has(t.fileId)) await this.store.remove(t.blockId);
    } catch (err) {
      // The reader that wants this block will fill it itself, and see the error if it lasts.
      this.logger.debug({ blockId: t.blockId, err: (err as Error).message }, 'prefetch of a block failed');
    }
  }
}
