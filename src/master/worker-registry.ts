/**
 * Workers and where blocks are cached. All soft state: workers register with a full block
 * report and then send deltas in heartbeats; a master that restarts answers the next heartbeat
 * with REGISTER and rebuilds from the reports. A worker silent past the timeout is marked lost
 * and its block locations are dropped.
 */
import type { Logger } from '../common/logging.js';
import type {
  BlockLocation,
  HeartbeatCommand,
  TierUsage,
  WorkerHeartbeat,
  WorkerInfo,
  WorkerRegistration,
} from '../common/types.js';
import { fileIdOfBlock } from '../common/types.js';

interface WorkerState extends WorkerInfo {
  blocks: Map<number, string>;
  /** Blocks the master wants dropped, sent with the next heartbeat reply. */
  pendingRemovals: Set<number>;
  /**
   * Blocks the master dropped from this worker since its last heartbeat. A heartbeat may have
   * listed them before the drop reached the worker; those stale additions must not bring the
   * location back (a free showed 100% again until the next heartbeat). A block cached again
   * since is reported by its commit, which takes it out of this set.
   */
  droppedSinceHeartbeat: Set<number>;
}

export class WorkerRegistry {
  private readonly workers = new Map<number, WorkerState>();
  /** blockId -> workerId -> tier alias */
  private readonly locations = new Map<number, Map<number, string>>();
  private nextId = 1;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly opts: { timeoutMs: number; logger: Logger; pinnedFileIds: () => number[] },
  ) {
    this.timer = setInterval(() => this.detectLost(), Math.min(1000, Math.max(100, opts.timeoutMs / 4)));
    this.timer.unref();
  }

  register(reg: WorkerRegistration): number {
    // A worker that comes back on the same address replaces its old self.
    for (const w of this.workers.values()) {
      if (w.address.host === reg.address.host && w.address.rpcPort === reg.address.rpcPort) this.forget(w.id);
    }
    const id = this.nextId++;
    const now = Date.now();
    const state: WorkerState = {
      id,
      address: reg.address,
      state: 'LIVE',
      lastHeartbeatMs: now,
      startTimeMs: now,
      tiers: reg.tiers,
      blockCount: 0,
      blocks: new Map(),
      pendingRemovals: new Set(),
      droppedSinceHeartbeat: new Set(),
    };
    this.workers.set(id, state);
    this.addBlocks(id, reg.blocks);
    this.opts.logger.info({ workerId: id, address: reg.address, blocks: state.blocks.size }, 'worker registered');
    return id;
  }

  heartbeat(hb: WorkerHeartbeat): HeartbeatCommand {
    const w = this.workers.get(hb.workerId);
    if (!w || w.state === 'LOST') {
      if (w) this.forget(w.id);
      return { command: 'REGISTER', removeBlocks: [], pinnedFileIds: [] };
    }
    w.lastHeartbeatMs = Date.now();
    w.tiers = hb.tiers;
    this.addLocations(w, hb.addedBlocks, w.droppedSinceHeartbeat);
    w.droppedSinceHeartbeat.clear();
    for (const b of hb.removedBlocks) this.removeLocation(w.id, b);
    const removeBlocks = [...w.pendingRemovals];
    w.pendingRemovals.clear();
    return { command: 'NOTHING', removeBlocks, pinnedFileIds: this.opts.pinnedFileIds() };
  }

  /** Blocks a worker has just cached (its registration or a commit): known at once. */
  addBlocks(workerId: number, byTier: Record<string, number[]>): void {
    const w = this.workers.get(workerId);
    if (!w) return;
    // Cached again since it was dropped: a removal the worker was not yet told of would now
    // drop the new copy.
    for (const ids of Object.values(byTier)) {
      for (const id of ids) {
        w.droppedSinceHeartbeat.delete(id);
        w.pendingRemovals.delete(id);
      }
    }
    this.addLocations(w, byTier);
  }

  private addLocations(w: WorkerState, byTier: Record<string, number[]>, skip?: Set<number>): void {
    const workerId = w.id;
    for (const [tier, ids] of Object.entries(byTier)) {
      for (const id of ids) {
        if (skip?.has(id)) continue;
        w.blocks.set(id, tier);
        let at = this.locations.get(id);
        if (!at) this.locations.set(id, (at = new Map()));
        at.set(workerId, tier);
      }
    }
    w.blockCount = w.blocks.size;
  }

  private removeLocation(workerId: number, blockId: number): void {
    const w = this.workers.get(workerId);
    w?.blocks.delete(blockId);
    if (w) w.blockCount = w.blocks.size;
    const at = this.locations.get(blockId);
    if (at) {
      at.delete(workerId);
      if (at.size === 0) this.locations.delete(blockId);
    }
  }

  /** Drops blocks from the master's view at once; answers which workers to tell. */
  removeBlocks(blockIds: number[]): Map<number, number[]> {
    const byWorker = new Map<number, number[]>();
    for (const b of blockIds) {
      const at = this.locations.get(b);
      if (!at) continue;
      for (const workerId of [...at.keys()]) {
        this.removeLocation(workerId, b);
        this.workers.get(workerId)?.droppedSinceHeartbeat.add(b);
        let list = byWorker.get(workerId);
        if (!list) byWorker.set(workerId, (list = []));
        list.push(b);
      }
    }
    return byWorker;
  }

  /**
   * Removals a worker could not be told of now, sent with its next heartbeat's answer. Only
   * those: a removal sent again after the worker did it would drop the block a reader has
   * cached since (`fs free`, then a read, lost the read's fill a heartbeat later).
   */
  queueRemovals(workerId: number, blockIds: number[]): void {
    const w = this.workers.get(workerId);
    for (const b of blockIds) w?.pendingRemovals.add(b);
  }

  /** Blocks the master holds a location for, of one file (for deletes of files whose length is unknown). */
  blocksOfFile(fileId: number): number[] {
    const out: number[] = [];
    for (const b of this.locations.keys()) if (fileIdOfBlock(b) === fileId) out.push(b);
    return out;
  }

  locationsOf(blockId: number): BlockLocation[] {
    const at = this.locations.get(blockId);
    if (!at) return [];
    const out: BlockLocation[] = [];
    for (const [workerId, tier] of at) {
      const w = this.workers.get(workerId);
      // A copy: answers hold it, and callers in this process take answers as they are.
      if (w && w.state === 'LIVE') out.push({ workerId, address: { ...w.address }, tier });
    }
    return out;
  }

  get(id: number): WorkerInfo | undefined {
    return this.workers.get(id);
  }

  list(): WorkerInfo[] {
    return [...this.workers.values()].map(({ blocks: _b, pendingRemovals: _p, droppedSinceHeartbeat: _d, ...info }) => ({ ...info, tiers: info.tiers.map((t) => ({ ...t })) }));
  }

  live(): WorkerInfo[] {
    return this.list().filter((w) => w.state === 'LIVE');
  }

  capacity(): TierUsage[] {
    const byAlias = new Map<string, TierUsage>();
    for (const w of this.workers.values()) {
      if (w.state !== 'LIVE') continue;
      for (const t of w.tiers) {
        const sum = byAlias.get(t.alias) ?? { alias: t.alias, capacityBytes: 0, usedBytes: 0 };
        sum.capacityBytes += t.capacityBytes;
        sum.usedBytes += t.usedBytes;
        byAlias.set(t.alias, sum);
      }
    }
    return [...byAlias.values()];
  }

  /** Marks a worker lost now (a client found it dead) rather than at the timeout. */
  markLost(id: number, reason: string): void {
    const w = this.workers.get(id);
    if (!w || w.state === 'LOST') return;
    w.state = 'LOST';
    for (const b of [...w.blocks.keys()]) this.removeLocation(id, b);
    this.opts.logger.warn({ workerId: id, address: w.address, reason }, 'worker lost');
  }

  private detectLost(): void {
    const now = Date.now();
    for (const w of this.workers.values()) {
      if (w.state === 'LIVE' && now - w.lastHeartbeatMs > this.opts.timeoutMs) {
        this.markLost(w.id, `no heartbeat for ${now - w.lastHeartbeatMs} ms`);
      }
    }
  }

  private forget(id: number): void {
    const w = this.workers.get(id);
    if (!w) return;
    for (const b of [...w.blocks.keys()]) this.removeLocation(id, b);
    this.workers.delete(id);
  }

  close(): void {
    clearInterval(this.timer);
  }
}
