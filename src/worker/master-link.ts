/**
 * The worker's side of the master protocol: register with a full block report, heartbeat with
 * deltas, commit new blocks at once (so a file is seen as cached as soon as its writer or
 * reader is answered), and fetch mount options. A failed heartbeat makes the next contact a
 * full registration, so no delta is lost while the master is away.
 */
import type { Logger } from '../common/logging.js';
import type { JsonCaller } from '../common/rpc/client.js';
import type { FileInfo, HeartbeatCommand, MountPointInfo, WorkerAddress } from '../common/types.js';
import type { BlockStore } from './block-store/index.js';

export class MasterLink {
  workerId = 0;
  private registered = false;
  private timer?: NodeJS.Timeout;
  private beating?: Promise<void>;
  /** Commits wait here while one is on its way, then go together as one call. */
  private pendingCommits: { ids: number[]; waiters: Array<() => void> } = { ids: [], waiters: [] };
  private committing = false;

  constructor(
    readonly master: JsonCaller,
    private readonly store: BlockStore,
    private readonly address: WorkerAddress,
    private readonly logger: Logger,
  ) {}

  async register(): Promise<void> {
    this.store.drainChanges();
    const { workerId } = await this.master.call<{ workerId: number }>('POST', '/api/v1/worker/register', {
      body: { address: this.address, tiers: this.store.usage(), blocks: this.store.listBlocks() },
    });
    this.workerId = workerId;
    this.registered = true;
    this.logger.info({ workerId }, 'registered with master');
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.beating ??= this.heartbeat().finally(() => (this.beating = undefined));
    }, intervalMs);
    this.timer.unref();
  }

  async heartbeat(): Promise<void> {
    try {
      if (!this.registered) return await this.register();
      const changes = this.store.drainChanges();
      const cmd = await this.master.call<HeartbeatCommand>('POST', '/api/v1/worker/heartbeat', {
        body: { workerId: this.workerId, tiers: this.store.usage(), addedBlocks: changes.added, removedBlocks: changes.removed },
      });
      if (cmd.command === 'REGISTER') return await this.register();
      this.store.setPinnedFiles(cmd.pinnedFileIds);
      for (const id of cmd.removeBlocks) await this.store.remove(id);
    } catch (err) {
      if (this.registered) this.logger.warn({ err: (err as Error).message }, 'heartbeat failed; will register again');
      this.registered = false;
    }
  }

  /**
   * Reports freshly cached blocks now, not at the next heartbeat; resolves once the master has
   * them. Many small files cached at once cost one call per round trip, not one per block, and
   * the blocks committed in one turn of the event loop go together: with the master in this
   * process a call answers within the turn, so without the wait each block of a cold folder
   * was a call of its own.
   */
  commit(blockIds: number[]): Promise<void> {
    if (!this.registered) return Promise.resolve();
    this.pendingCommits.ids.push(...blockIds);
    return new Promise((resolve) => {
      this.pendingCommits.waiters.push(resolve);
      if (this.pendingCommits.waiters.length === 1) setImmediate(() => this.sendCommits());
    });
  }

  private sendCommits(): void {
    if (this.committing || this.pendingCommits.waiters.length === 0) return;
    const { ids, waiters } = this.pendingCommits;
    this.pendingCommits = { ids: [], waiters: [] };
    this.committing = true;
    void this.sendCommit(ids).finally(() => {
      this.committing = false;
      for (const w of waiters) w();
      this.sendCommits();
    });
  }

  private async sendCommit(ids: number[]): Promise<void> {
    if (!this.registered) return;
    // Where the store has them now: a block removed (a free) or moved to another tier since its
    // commit was asked for must not be reported where it no longer is.
    const blocks: Record<string, number[]> = {};
    for (const id of ids) {
      const tier = this.store.get(id)?.tier;
      if (tier) (blocks[tier] ??= []).push(id);
    }
    try {
      await this.master.call('POST', '/api/v1/worker/commit', { body: { workerId: this.workerId, blocks } });
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'block commit failed; the next registration reports it');
      this.registered = false;
    }
  }

  mount(id: number): Promise<MountPointInfo> {
    return this.master.call('GET', '/api/v1/worker/mount', { query: { id } });
  }

  file(id: number): Promise<FileInfo> {
    return this.master.call('GET', '/api/v1/worker/file', { query: { id } });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.beating;
  }
}
