/**
 * BlockStore: the tiered block cache of one worker.
 *
 * What: blocks of files cached in tiers (MEM, SSD, HDD, fastest first), each tier a set of
 * folders with quotas. A file's blocks in one folder share ONE sparse cache file,
 * `<dir>/<fileId>`, block `index` at byte `index * blockSize`, so that a wholly cached file
 * is a single local file the kernel can read directly (short-circuit, FUSE passthrough). The
 * block stays the unit of accounting, location and eviction; freeing a block punches a hole.
 *
 * Why this shape:
 *  - Crash safety comes from ordering: bytes are fdatasync'ed before the block's SQLite row is
 *    written, and only rows make blocks visible; startup (recovery.ts) punches out bytes no
 *    row covers. A half-filled block is never served, before or after a crash.
 *  - All placement decisions (allocate, evict, demote, promote, remove, create/unlink cache
 *    files) run under one async mutex (allocator.ts); reads do not, and are protected instead
 *    by moves committing the new location before the old range is punched, after its reads.
 *  - LRU order lives in memory (lru.ts); access times reach SQLite in periodic batches.
 *  - Leased blocks (leases.ts) are never moved or punched, since a client may have the cache
 *    file open; removing one hides it at once and frees it when the last lease ends.
 */
import { StrataError } from '../../common/errors.js';
import { silentLogger } from '../../common/logging.js';
import { blockIdOf, BLOCK_INDEX_BITS, type TierUsage } from '../../common/types.js';
import { Allocator } from './allocator.js';
import { BlockIndex } from './block-index.js';
import { dropBlock, moveBlock, releaseReservation } from './block-ops.js';
import { CacheBlockWriter, type PendingBlock, type WriterOwner } from './block-writer.js';
import { openForWrite, readRange, removeFile } from './cache-file.js';
import { ReadTracker } from './read-tracker.js';
import { recover } from './recovery.js';
import { offsetOf, StoreState, type BlockRecord } from './store-state.js';
import { buildTiers } from './tiers.js';
import type {
  BlockChanges,
  BlockMeta,
  BlockStoreOptions,
  BlockStoreStats,
  BlockWriter,
  CreateBlockRequest,
  Lease,
} from './types.js';

export class BlockStore implements WriterOwner {
  private readonly allocator: Allocator;
  private readonly background = new Set<Promise<void>>();
  private readonly flushTimer: NodeJS.Timeout;
  private closed = false;

  private constructor(
    private readonly state: StoreState,
    accessFlushIntervalMs: number,
  ) {
    this.allocator = new Allocator(state);
    this.flushTimer = setInterval(() => this.flushAccessTimes(), accessFlushIntervalMs);
    this.flushTimer.unref();
  }

  static async open(opts: BlockStoreOptions): Promise<BlockStore> {
    const logger = opts.logger ?? silentLogger;
    const tiers = buildTiers(opts.tiers);
    const index = BlockIndex.open(opts.indexPath);
    let records: BlockRecord[];
    try {
      records = await recover(tiers, index, logger);
    } catch (err) {
      index.close();
      throw err;
    }
    let store: BlockStore | undefined;
    const state = new StoreState(tiers, index, logger, opts.leaseSweepIntervalMs ?? 1000, (id) => store?.onUnleased(id));
    for (const rec of records) {
      rec.dir.adopt(rec.fileId, rec.length);
      state.blocks.set(rec.blockId, rec);
      state.lru.touch(rec.blockId, rec.lastAccessMs, false);
    }
    store = new BlockStore(state, opts.accessFlushIntervalMs ?? 10_000);
    logger.info({ blocks: records.length, tiers: store.usage() }, 'block store open');
    return store;
  }

  async createBlock(p: CreateBlockRequest): Promise<BlockWriter> {
    this.checkOpen();
    checkRequest(p);
    const blockId = blockIdOf(p.fileId, p.index);
    const { state } = this;
    if (state.blocks.has(blockId) || state.writing.has(blockId)) {
      throw new StrataError('ALREADY_EXISTS', `block ${blockId} is already ${state.writing.has(blockId) ? 'being written' : 'cached'}`);
    }
    const start = p.preferTier === undefined ? 0 : state.tiers.findIndex((t) => t.alias === p.preferTier);
    if (start < 0) throw new StrataError('INVALID_ARGUMENT', `no tier ${p.preferTier}`);
    state.writing.add(blockId);
    try {
      return await this.allocator.run(async () => {
        // Checked in turn, after any drop queued by a lease that just ended.
        if (state.doomed.has(blockId) || state.abandoned.has(blockId)) {
          // Its old bytes stay until the lease ends; meanwhile readers read through, uncached.
          throw new StrataError('ALREADY_EXISTS', `block ${blockId} was removed but a reader still holds it; it is cached again once released`);
        }
        const why: string[] = [];
        const levels = state.tiers.slice(start).map((t) => t.level);
        const mode = p.noEviction ? 'free-only' : p.preferTier ? 'tier-first' : 'free-first';
        const dir = await this.allocator.place(p.fileId, p.length, levels, mode, why);
        if (!dir) {
          throw new StrataError('RESOURCE_EXHAUSTED', `no room for block ${blockId} (${p.length} bytes needed): ${why.join('; ')}`);
        }
        const block: PendingBlock = { blockId, fileId: p.fileId, index: p.index, blockSize: p.blockSize, length: p.length, dir };
        try {
          return new CacheBlockWriter(block, await openForWrite(dir.cacheFile(p.fileId), dir.memoryBacked), this);
        } catch (err) {
          if (dir.unreserve(p.fileId, p.length) === 0) await removeFile(dir.cacheFile(p.fileId));
          throw err;
        }
      });
    } catch (err) {
      state.writing.delete(blockId);
      throw err;
    }
  }

  /** @internal Called by a writer once its bytes are synced. */
  commitWrite(block: PendingBlock): BlockMeta {
    const { state } = this;
    const rec: BlockRecord = { ...block, lastAccessMs: Date.now() };
    const meta = state.meta(rec);
    const { blockId, fileId, index, blockSize, length, tier, dir, lastAccessMs } = meta;
    state.index.put({ blockId, fileId, index, blockSize, length, tier, dir, lastAccessMs });
    block.dir.commit(block.length);
    state.writing.delete(block.blockId);
    state.blocks.set(block.blockId, rec);
    state.lru.touch(block.blockId, rec.lastAccessMs, false);
    state.noteAdded(block.blockId, meta.tier);
    return meta;
  }

  /** @internal Called by a writer that gives up. */
  async abortWrite(block: PendingBlock): Promise<void> {
    try {
      // A reader leasing the fill may be reading the bytes that are in: they go when it lets go.
      if (this.state.leases.isLeased(block.blockId)) this.state.abandoned.set(block.blockId, block);
      else await this.allocator.run(() => releaseReservation(block.dir, block));
    } finally {
      this.state.writing.delete(block.blockId);
    }
  }

  get(blockId: number): BlockMeta | undefined {
    const rec = this.state.blocks.get(blockId);
    return rec && this.state.meta(rec);
  }

  has(blockId: number): boolean {
    return this.state.blocks.has(blockId);
  }

  blocksOfFile(fileId: number): BlockMeta[] {
    const out: BlockMeta[] = [];
    for (const rec of this.state.blocks.values()) if (rec.fileId === fileId) out.push(this.state.meta(rec));
    return out.sort((a, b) => a.index - b.index);
  }

  /** Reads part of a cached block and counts it as an access. */
  async read(blockId: number, offsetInBlock: number, length: number): Promise<Buffer> {
    this.checkOpen();
    const rec = this.state.blocks.get(blockId);
    if (!rec) throw new StrataError('NOT_FOUND', `block ${blockId} is not cached`);
    if (!(offsetInBlock >= 0 && length >= 0 && offsetInBlock + length <= rec.length)) {
      throw new StrataError('INVALID_ARGUMENT', `read ${offsetInBlock}+${length} is outside block ${blockId} (${rec.length} bytes)`);
    }
    const key = ReadTracker.key(rec.dir.path, blockId);
    const path = rec.dir.cacheFile(rec.fileId);
    this.state.reads.begin(key);
    try {
      const buf = await readRange(path, offsetOf(rec) + offsetInBlock, length);
      this.touch(blockId);
      return buf;
    } finally {
      this.state.reads.end(key);
    }
  }

  /** Marks a block as just used (LRU); written to the index later, in a batch. */
  touch(blockId: number): void {
    const rec = this.state.blocks.get(blockId);
    if (!rec) return;
    rec.lastAccessMs = Date.now();
    this.state.lru.touch(blockId, rec.lastAccessMs);
  }

  /**
   * Evicts blocks not used for `idleMs` (not pinned, leased or busy), least recently used first,
   * until `bytes` are freed; answers the bytes freed (less when there are not enough).
   */
  async evictIdle(bytes: number, idleMs: number): Promise<number> {
    this.checkOpen();
    return this.allocator.run(() => this.allocator.dropIdle(bytes, Date.now() - idleMs));
  }

  /** Moves a block up to the top tier; false if it is leased or no room can be made there. */
  async promote(blockId: number): Promise<boolean> {
    this.checkOpen();
    const { state } = this;
    return this.allocator.run(async () => {
      const rec = state.blocks.get(blockId);
      if (!rec) throw new StrataError('NOT_FOUND', `block ${blockId} is not cached`);
      if (rec.dir.tier.level === 0) return true;
      if (!state.movable(rec)) return false;
      state.startMoving(blockId);
      try {
        const dest = await this.allocator.place(rec.fileId, rec.length, [0], 'tier-first');
        if (!dest || !(await moveBlock(state, rec, dest))) return false;
        state.stats.promotions++;
        return true;
      } finally {
        state.stopMoving(blockId);
      }
    });
  }

  /** Frees a block; a leased one disappears now and its bytes go when the last lease ends. */
  async remove(blockId: number): Promise<void> {
    this.checkOpen();
    const { state } = this;
    await this.allocator.run(async () => {
      const rec = state.blocks.get(blockId);
      if (!rec) return;
      if (state.leases.isLeased(blockId)) {
        state.hide(rec);
        state.doomed.set(blockId, rec);
        return;
      }
      await dropBlock(state, rec);
    });
  }

  /**
   * Blocks removed from the cache (freed, evicted by the master, deleted) that leases still hold:
   * their bytes stay until the last holder lets go, so holders that keep files open only in case
   * they are read again (a mount's warm files) should let go.
   */
  removedButLeased(): number[] {
    return [...this.state.doomed.keys()];
  }

  /** Leases blocks for short-circuit reads: they stay where they are until release or expiry. */
  acquireLease(blockIds: number[], ttlMs: number): Lease {
    this.checkOpen();
    if (!(ttlMs > 0)) throw new StrataError('INVALID_ARGUMENT', `lease ttl must be positive, got ${ttlMs}`);
    const recs = blockIds.map((id) => {
      const rec = this.state.blocks.get(id);
      if (!rec) throw new StrataError('NOT_FOUND', `block ${id} is not cached`);
      return rec;
    });
    const leaseId = this.state.leases.acquire(blockIds, ttlMs);
    return { leaseId, blocks: recs.map((r) => this.state.meta(r)) };
  }

  /**
   * Leases a block that is cached or still being written (a fill): its bytes stay where they
   * are, even if the fill fails, until the lease ends. The caller knows which bytes are in.
   */
  leaseFilling(blockId: number, ttlMs: number): string {
    this.checkOpen();
    if (!this.state.blocks.has(blockId) && !this.state.writing.has(blockId)) throw new StrataError('NOT_FOUND', `block ${blockId} is neither cached nor being written`);
    return this.state.leases.acquire([blockId], ttlMs);
  }

  get leasesHeld(): { leases: number; blocks: number } {
    return this.state.leases.held;
  }

  releaseLease(leaseId: string): boolean {
    return this.state.leases.release(leaseId);
  }

  /** Extends leases their holders still use; answers how many were still held. */
  renewLeases(leaseIds: Iterable<string>, ttlMs: number): number {
    return this.state.leases.renew(leaseIds, ttlMs);
  }

  /** Replaces the set of pinned files, whose blocks are never evicted. */
  setPinnedFiles(fileIds: Iterable<number>): void {
    this.state.setPinned(fileIds);
  }

  usage(): TierUsage[] {
    return this.state.tiers.map((t) => ({ alias: t.alias, capacityBytes: t.capacityBytes, usedBytes: t.usedBytes }));
  }

  listBlocks(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const t of this.state.tiers) out[t.alias] = [];
    for (const rec of this.state.blocks.values()) out[rec.dir.tier.alias]!.push(rec.blockId);
    return out;
  }

  /** Blocks added (under their current tier) and removed since the last call. */
  drainChanges(): BlockChanges {
    return this.state.drainChanges();
  }

  get stats(): BlockStoreStats {
    return { ...this.state.stats };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.state.leases.close();
    clearInterval(this.flushTimer);
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
    await this.allocator.idle();
    this.flushAccessTimes();
    this.state.index.close();
  }

  private onUnleased(blockId: number): void {
    if (!this.state.doomed.has(blockId) && !this.state.abandoned.has(blockId)) return;
    const task = this.allocator
      .run(async () => {
        if (this.state.leases.isLeased(blockId)) return;
        const rec = this.state.doomed.get(blockId);
        if (rec) await dropBlock(this.state, rec);
        const abandoned = this.state.abandoned.get(blockId);
        if (abandoned) {
          this.state.abandoned.delete(blockId);
          await releaseReservation(abandoned.dir, abandoned);
        }
      })
      .catch((err: unknown) => this.state.logger.error({ err, blockId }, 'freeing a removed block failed'))
      .finally(() => this.background.delete(task));
    this.background.add(task);
  }

  private flushAccessTimes(): void {
    const entries = this.state.lru.takeDirty().filter(([id]) => this.state.blocks.has(id));
    if (entries.length > 0) this.state.index.touchMany(entries);
  }

  private checkOpen(): void {
    if (this.closed) throw new StrataError('UNAVAILABLE', 'block store is closed');
  }
}

function checkRequest(p: CreateBlockRequest): void {
  const ok =
    Number.isSafeInteger(p.fileId) &&
    p.fileId >= 0 &&
    Number.isSafeInteger(p.index) &&
    p.index >= 0 &&
    p.index < 2 ** BLOCK_INDEX_BITS &&
    Number.isSafeInteger(p.blockSize) &&
    p.blockSize > 0 &&
    Number.isSafeInteger(p.length) &&
    p.length > 0 &&
    p.length <= p.blockSize;
  if (!ok) throw new StrataError('INVALID_ARGUMENT', `bad block request ${JSON.stringify(p)}`);
}
