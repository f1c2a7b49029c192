/**
 * Where new and moved blocks go, and what is evicted to make room. Every call runs under one
 * async mutex (run()), so a decision (check free space, choose victims, reserve) is never
 * interleaved with another; commits and aborts of writers only turn reservations into use or
 * give space back, so they cannot invalidate a decision.
 *
 * Eviction is LRU per tier folder. A victim in tier k is demoted to tier k+1 (or lower, evicting
 * there in turn); from the last tier, or when no lower tier can take it, it is dropped. Pinned
 * files, leased blocks and blocks being written or moved are never victims.
 */
import { dropBlock, moveBlock } from './block-ops.js';
import { Mutex } from './mutex.js';
import type { BlockRecord, StoreState } from './store-state.js';
import type { Tier, TierDir } from './tiers.js';

/**
 * free-first: any tier in order with free room, then eviction in tier order (new blocks).
 * tier-first: each tier in order, by free room or else by eviction (preferTier, demotion, promotion).
 * free-only: any tier in order with free room, never evicting (prefetches).
 */
export type PlaceMode = 'free-first' | 'tier-first' | 'free-only';

interface HeldBytes {
  pinned: number;
  leased: number;
  moving: number;
}

export class Allocator {
  private readonly mutex = new Mutex();
  /**
   * What a full walk of the LRU order found a folder can free at most, at a store version: until
   * something changes, a block that needs more fails at once. A cache full of leased blocks (a
   * mount's warm files) otherwise cost every block read cold two walks of every block cached.
   */
  private readonly freeable = new Map<TierDir, { version: number; bytes: number }>();
  /** describe()'s walk, kept for the store version it was made at. */
  private described?: { tier: Tier; version: number; held: HeldBytes };

  constructor(private readonly state: StoreState) {}

  /** Runs fn with the allocation lock held. */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    return this.mutex.run(fn);
  }

  idle(): Promise<void> {
    return this.mutex.idle();
  }

  /**
   * Reserves `bytes` for a block of `fileId` in one of the tiers at `levels`; undefined if no
   * room can be made, with a line per tier in `why`. Call under run().
   */
  async place(fileId: number, bytes: number, levels: number[], mode: PlaceMode, why: string[] = []): Promise<TierDir | undefined> {
    const tiers = levels.map((l) => this.state.tiers[l]!);
    if (mode !== 'tier-first') {
      for (const tier of tiers) {
        const dir = this.reserveFree(tier, fileId, bytes);
        if (dir) return dir;
      }
    }
    if (mode === 'free-only') {
      why.push('no tier has free room, and this block may not evict others');
      return undefined;
    }
    for (const tier of tiers) {
      const dir = (mode === 'tier-first' && this.reserveFree(tier, fileId, bytes)) || (await this.makeRoomIn(tier, fileId, bytes));
      if (dir) return dir;
      why.push(this.describe(tier));
    }
    return undefined;
  }

  private reserveFree(tier: Tier, fileId: number, bytes: number): TierDir | undefined {
    const dir = tier.dirWithRoom(fileId, bytes);
    dir?.reserve(fileId, bytes);
    return dir;
  }

  /**
   * Evicts LRU blocks from one folder of the tier until `bytes` fit, and reserves them: the
   * folder that holds the file already if it can make room, else the one with the most free room
   * that can. The LRU order is walked only as far as the victims needed; a full walk happens only
   * when no folder can make room (everything pinned or leased).
   */
  private async makeRoomIn(tier: Tier, fileId: number, bytes: number): Promise<TierDir | undefined> {
    this.state.leases.sweep();
    const feasible = tier.dirs.filter((dir) => this.canFree(dir, bytes - dir.freeBytes));
    const dir = feasible.find((d) => d.holdsFile(fileId)) ?? feasible.sort((a, b) => b.freeBytes - a.freeBytes)[0];
    if (!dir) return undefined;
    // Evicting may fail for a victim (it moved meanwhile): the walk goes on to the next one.
    for (const victim of this.victims(dir)) {
      if (dir.freeBytes >= bytes) break;
      await this.evict(victim);
    }
    if (dir.freeBytes < bytes) return undefined;
    dir.reserve(fileId, bytes);
    return dir;
  }

  /** Whether evicting from `dir` can free `bytes` more. */
  private canFree(dir: TierDir, bytes: number): boolean {
    const version = this.state.version;
    const known = this.freeable.get(dir);
    if (known?.version === version && bytes > known.bytes) return false;
    let found = 0;
    for (const rec of this.victims(dir)) {
      if (found >= bytes) return true;
      found += rec.length;
    }
    if (found >= bytes) return true;
    this.freeable.set(dir, { version, bytes: found });
    return false;
  }

  /**
   * Blocks that may be evicted now (of one folder, or of any; last used before `idleBefore`),
   * least recently used first, found as asked for.
   */
  private *victims(dir?: TierDir, idleBefore = Infinity): Generator<BlockRecord> {
    // A Map's iterator survives deletes and skips what they removed: evicting while walking is safe.
    for (const id of this.state.lru.oldestFirst()) {
      const rec = this.state.blocks.get(id);
      if (rec && (dir === undefined || rec.dir === dir) && rec.lastAccessMs < idleBefore && this.state.movable(rec)) yield rec;
    }
  }

  /**
   * Drops blocks no one has used since `idleBefore`, least recently used first, in any tier,
   * until `bytes` are dropped: room a prefetch may take (what it displaces is what no one used
   * lately, so it is dropped, not demoted). Answers the bytes dropped. Call under run().
   */
  async dropIdle(bytes: number, idleBefore: number): Promise<number> {
    this.state.leases.sweep();
    let dropped = 0;
    for (const rec of this.victims(undefined, idleBefore)) {
      if (dropped >= bytes) break;
      if (!(await dropBlock(this.state, rec))) continue;
      dropped += rec.length;
      this.counted(rec, rec.dir.tier);
    }
    return dropped;
  }

  /** Demotes a block to a lower tier if one can take it, else drops it. */
  private async evict(rec: BlockRecord): Promise<void> {
    const { stats, tiers } = this.state;
    const from = rec.dir.tier;
    this.state.startMoving(rec.blockId);
    try {
      const lower = tiers.slice(from.level + 1).map((t) => t.level);
      const dest = lower.length > 0 ? await this.place(rec.fileId, rec.length, lower, 'tier-first') : undefined;
      if (dest) {
        if (!(await moveBlock(this.state, rec, dest))) return;
        stats.demotions++;
      } else {
        this.state.stopMoving(rec.blockId);
        if (!(await dropBlock(this.state, rec))) return;
      }
    } finally {
      this.state.stopMoving(rec.blockId);
    }
    this.counted(rec, from);
  }

  /** Counts an eviction done from tier `from` (`rec.dir`: where a demoted block went). */
  private counted(rec: BlockRecord, from: Tier): void {
    this.state.stats.evictions++;
    this.state.stats.evictedBytes += rec.length;
    this.state.logger.debug({ blockId: rec.blockId, from: from.alias, to: rec.dir.tier.alias }, 'evicted block');
  }

  /** Why a tier could not make room: what holds its space. */
  describe(tier: Tier): string {
    const { pinned, leased, moving } = this.heldIn(tier);
    const writing = tier.dirs.reduce((n, d) => n + d.reservedBytes, 0);
    return (
      `tier ${tier.alias} is full of pinned/leased blocks (${tier.usedBytes} of ${tier.capacityBytes} bytes used: ` +
      `${pinned} pinned, ${leased} leased, ${writing} being written, ${moving} being moved)`
    );
  }

  /** Bytes of a tier's blocks that may not move, by why (a walk of every block, kept per version). */
  private heldIn(tier: Tier): HeldBytes {
    const version = this.state.version;
    if (this.described?.tier === tier && this.described.version === version) return this.described.held;
    const held = { pinned: 0, leased: 0, moving: 0 };
    for (const rec of this.state.blocks.values()) {
      if (rec.dir.tier !== tier) continue;
      if (this.state.pinnedFiles.has(rec.fileId)) held.pinned += rec.length;
      else if (this.state.leases.isLeased(rec.blockId)) held.leased += rec.length;
      else if (this.state.moving.has(rec.blockId)) held.moving += rec.length;
    }
    // Removed while leased: their bytes go when the last lease ends.
    for (const rec of this.state.doomed.values()) if (rec.dir.tier === tier) held.leased += rec.length;
    this.described = { tier, version, held };
    return held;
  }
}
