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

export class Allocator {
  private readonly mutex = new Mutex();

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

  /** Evicts LRU blocks from one folder of the tier until `bytes` fit, and reserves them. */
  private async makeRoomIn(tier: Tier, fileId: number, bytes: number): Promise<TierDir | undefined> {
    this.state.leases.sweep();
    const feasible = tier.dirs
      .map((dir) => ({ dir, reachable: dir.freeBytes + this.victims(dir).reduce((n, r) => n + r.length, 0) }))
      .filter((c) => c.reachable >= bytes);
    const chosen = feasible.find((c) => c.dir.holdsFile(fileId)) ?? feasible.sort((a, b) => b.reachable - a.reachable)[0];
    if (!chosen) return undefined;
    const dir = chosen.dir;
    const tried = new Set<BlockRecord>();
    while (dir.freeBytes < bytes) {
      const victim = this.victims(dir).find((r) => !tried.has(r));
      if (!victim) return undefined;
      tried.add(victim);
      await this.evict(victim);
    }
    dir.reserve(fileId, bytes);
    return dir;
  }

  /** Blocks of a folder that may be evicted now, least recently used first. */
  private victims(dir: TierDir): BlockRecord[] {
    const out: BlockRecord[] = [];
    for (const id of this.state.lru.oldestFirst()) {
      const rec = this.state.blocks.get(id);
      if (rec && rec.dir === dir && this.state.movable(rec)) out.push(rec);
    }
    return out;
  }

  /** Demotes a block to a lower tier if one can take it, else drops it. */
  private async evict(rec: BlockRecord): Promise<void> {
    const { stats, tiers, moving } = this.state;
    const from = rec.dir.tier;
    moving.add(rec.blockId);
    try {
      const lower = tiers.slice(from.level + 1).map((t) => t.level);
      const dest = lower.length > 0 ? await this.place(rec.fileId, rec.length, lower, 'tier-first') : undefined;
      if (dest) {
        if (!(await moveBlock(this.state, rec, dest))) return;
        stats.demotions++;
      } else {
        moving.delete(rec.blockId);
        if (!(await dropBlock(this.state, rec))) return;
      }
    } finally {
      moving.delete(rec.blockId);
    }
    stats.evictions++;
    stats.evictedBytes += rec.length;
    this.state.logger.debug({ blockId: rec.blockId, from: from.alias, to: rec.dir.tier.alias }, 'evicted block');
  }

  /** Why a tier could not make room: what holds its space. */
  describe(tier: Tier): string {
    let pinned = 0;
    let leased = 0;
    let moving = 0;
    for (const rec of this.state.blocks.values()) {
      if (rec.dir.tier !== tier) continue;
      if (this.state.pinnedFiles.has(rec.fileId)) pinned += rec.length;
      else if (this.state.leases.isLeased(rec.blockId)) leased += rec.length;
      else if (this.state.moving.has(rec.blockId)) moving += rec.length;
    }
    let removedLeased = 0;
    for (const rec of this.state.doomed.values()) if (rec.dir.tier === tier) removedLeased += rec.length;
    const writing = tier.dirs.reduce((n, d) => n + d.reservedBytes, 0);
    return (
      `tier ${tier.alias} is full of pinned/leased blocks (${tier.usedBytes} of ${tier.capacityBytes} bytes used: ` +
      `${pinned} pinned, ${leased + removedLeased} leased, ${writing} being written, ${moving} being moved)`
    );
  }
}
