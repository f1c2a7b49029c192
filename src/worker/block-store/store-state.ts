/**
 * The in-memory state shared by the block store's parts: committed blocks and where they are,
 * blocks being written or moved, removed-but-leased blocks, pins, LRU order, leases, in-flight
 * reads, the change log for heartbeats and the counters. The SQLite index mirrors `blocks`.
 */
import type { Logger } from '../../common/logging.js';
import type { BlockIndex } from './block-index.js';
import { LeaseTable } from './leases.js';
import { LruOrder } from './lru.js';
import { ReadTracker } from './read-tracker.js';
import type { Tier, TierDir } from './tiers.js';
import type { BlockChanges, BlockMeta, BlockStoreStats } from './types.js';
import type { PendingBlock } from './block-writer.js';

export interface BlockRecord {
  readonly blockId: number;
  readonly fileId: number;
  readonly index: number;
  readonly blockSize: number;
  readonly length: number;
  /** Where the bytes are; changes only when a move commits. */
  dir: TierDir;
  lastAccessMs: number;
}

export function offsetOf(rec: { index: number; blockSize: number }): number {
  return rec.index * rec.blockSize;
}

export class StoreState {
  /** Committed blocks: the only ones get/has/read/lease see. */
  readonly blocks = new Map<number, BlockRecord>();
  /** Removed while leased: gone from the index, bytes kept until the last lease ends. */
  readonly doomed = new Map<number, BlockRecord>();
  /** Given up while leased (a fill that failed under a reader): bytes kept until the last lease ends. */
  readonly abandoned = new Map<number, PendingBlock>();
  /** Blocks with a writer open. */
  readonly writing = new Set<number>();
  /** Blocks being demoted or promoted. */
  readonly moving = new Set<number>();
  private pinned = new Set<number>();
  readonly lru = new LruOrder();
  readonly reads = new ReadTracker();
  readonly leases: LeaseTable;
  readonly stats: BlockStoreStats = { evictions: 0, demotions: 0, promotions: 0, evictedBytes: 0 };
  private added = new Map<number, string>();
  /** Changes to what is committed, pinned or being moved (lease changes are the lease table's). */
  private changes = 0;
  private removed = new Set<number>();

  constructor(
    readonly tiers: Tier[],
    readonly index: BlockIndex,
    readonly logger: Logger,
    leaseSweepIntervalMs: number,
    onUnleased: (blockId: number) => void,
  ) {
    this.leases = new LeaseTable(onUnleased, leaseSweepIntervalMs);
  }

  meta(rec: BlockRecord): BlockMeta {
    return {
      blockId: rec.blockId,
      fileId: rec.fileId,
      index: rec.index,
      blockSize: rec.blockSize,
      length: rec.length,
      offset: offsetOf(rec),
      tier: rec.dir.tier.alias,
      dir: rec.dir.path,
      cacheFile: rec.dir.cacheFile(rec.fileId),
      lastAccessMs: rec.lastAccessMs,
    };
  }

  /** Goes up with every change that can make a block movable or not (see Allocator.canFree). */
  get version(): number {
    return this.changes + this.leases.changes;
  }

  get pinnedFiles(): ReadonlySet<number> {
    return this.pinned;
  }

  setPinned(fileIds: Iterable<number>): void {
    this.pinned = new Set(fileIds);
    this.changes++;
  }

  startMoving(blockId: number): void {
    this.moving.add(blockId);
    this.changes++;
  }

  stopMoving(blockId: number): void {
    if (this.moving.delete(blockId)) this.changes++;
  }

  /** May this block be pushed out of its tier or moved now? */
  movable(rec: BlockRecord): boolean {
    return (
      this.blocks.get(rec.blockId) === rec &&
      !this.pinned.has(rec.fileId) &&
      !this.leases.isLeased(rec.blockId) &&
      !this.moving.has(rec.blockId)
    );
  }

  /** Makes a committed block invisible: out of the map, the LRU order and the index. */
  hide(rec: BlockRecord): void {
    if (this.blocks.get(rec.blockId) !== rec) return;
    this.blocks.delete(rec.blockId);
    this.changes++;
    this.lru.delete(rec.blockId);
    this.index.delete(rec.blockId);
    this.noteRemoved(rec.blockId);
  }

  noteAdded(blockId: number, tier: string): void {
    this.changes++;
    this.removed.delete(blockId);
    this.added.set(blockId, tier);
  }

  noteRemoved(blockId: number): void {
    this.added.delete(blockId);
    this.removed.add(blockId);
  }

  drainChanges(): BlockChanges {
    const added: Record<string, number[]> = {};
    for (const [id, tier] of this.added) (added[tier] ??= []).push(id);
    const out = { added, removed: [...this.removed] };
    this.added = new Map();
    this.removed = new Set();
    return out;
  }
}
