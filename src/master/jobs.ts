/**
 * Background work of the master: persisting ASYNC_THROUGH files (TO_BE_PERSISTED, then
 * PERSISTED) and acting on expired TTLs. A persist is done by a worker that holds the file's
 * blocks, so the data never passes through the master; pending persists survive a restart
 * because the state is in the metadata store.
 */
import { StrataError } from '../common/errors.js';
import type { Logger } from '../common/logging.js';
import type { WorkerAddress } from '../common/types.js';
import { fileBlocks } from './file-info.js';
import type { InodeRow, MetaStore } from './metastore.js';
import type { MountTable } from './mount-table.js';
import type { Namespace } from './namespace.js';
import type { WorkerClients } from './worker-client.js';
import type { WorkerRegistry } from './worker-registry.js';

const SYSTEM = { user: '', group: '' };

export class Jobs {
  private readonly inFlight = new Map<number, Promise<void>>();
  private readonly retryAt = new Map<number, number>();
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly d: {
      store: MetaStore;
      namespace: Namespace;
      mounts: MountTable;
      workers: WorkerRegistry;
      clients: WorkerClients;
      logger: Logger;
      persistIntervalMs: number;
      persistRetryMs: number;
      ttlIntervalMs: number;
      superUser: string;
    },
  ) {}

  start(): void {
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.d.persistIntervalMs, () => this.schedulePersists());
    every(this.d.ttlIntervalMs, () => void this.checkTtls());
  }

  private schedulePersists(): void {
    const now = Date.now();
    for (const inode of this.d.store.filesToPersist()) {
      if (this.inFlight.has(inode.id) || (this.retryAt.get(inode.id) ?? 0) > now) continue;
      this.persist(inode).catch((err: unknown) => {
        this.retryAt.set(inode.id, Date.now() + this.d.persistRetryMs);
        this.d.logger.warn({ err, fileId: inode.id }, 'persist failed; will retry');
      });
    }
  }

  /** Persists one file now (fs persist, or the scheduler); concurrent calls share one job. */
  persist(inode: InodeRow): Promise<void> {
    let job = this.inFlight.get(inode.id);
    if (!job) {
      job = this.runPersist(inode).finally(() => this.inFlight.delete(inode.id));
      this.inFlight.set(inode.id, job);
    }
    return job;
  }

  private async runPersist(inode: InodeRow): Promise<void> {
    const path = this.d.namespace.pathOf(inode);
    const { mount, ufsPath } = this.d.mounts.resolve(path);
    if (mount.readOnly) throw new StrataError('READ_ONLY', `Cannot persist ${path}: mount ${mount.path} is read-only`);
    const blocks = fileBlocks(inode, this.d.workers);
    const missing = blocks.filter((b) => b.locations.length === 0);
    if (missing.length > 0) {
      this.d.namespace.markLost(inode.id);
      throw new StrataError('DATA_LOSS', `Cannot persist ${path}: block ${missing[0]!.blockId} is cached nowhere and the file was never persisted`);
    }
    const worker: WorkerAddress | undefined = blocks[0]?.locations[0]?.address ?? this.d.workers.live()[0]?.address;
    if (!worker) throw new StrataError('UNAVAILABLE', `Cannot persist ${path}: no live worker`);
    const result = await this.d.clients.persist(worker, {
      fileId: inode.id,
      mountId: mount.id,
      ufsPath,
      length: inode.length,
      blockSize: inode.block_size,
    });
    this.d.namespace.markPersisted(inode.id, result.fingerprint, result.lastModifiedMs);
    this.retryAt.delete(inode.id);
    this.d.logger.info({ path, ufsPath }, 'persisted');
  }

  async checkTtls(): Promise<void> {
    const now = Date.now();
    for (const inode of this.d.store.filesWithTtl()) {
      if (inode.created_ms + inode.ttl > now) continue;
      const path = this.d.namespace.pathOf(inode);
      try {
        const superCaller = { ...SYSTEM, user: this.d.superUser };
        if (inode.ttl_action === 'DELETE') {
          await this.d.namespace.delete(path, superCaller, { recursive: true });
        } else {
          await this.d.namespace.free(path, superCaller, { forced: true });
          this.d.store.update(inode.id, { ttl: -1 });
        }
        this.d.logger.info({ path, action: inode.ttl_action }, 'TTL expired');
      } catch (err) {
        this.d.logger.warn({ err, path }, 'TTL action failed');
      }
    }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
  }

  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight.values()]);
  }
}
