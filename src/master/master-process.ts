/**
 * The master process: wires the metadata store, mount table, worker registry, namespace,
 * background jobs and the two HTTP servers (API on the RPC port, /metrics on the web port).
 * SIGTERM handling lives in the CLI; stop() finishes in-flight persists and closes the store.
 */
import { join } from 'node:path';
import type { Configuration } from '../common/config/configuration.js';
import type { Logger } from '../common/logging.js';
import { Counter, Gauge, newRegistry, rpcServer, webServer } from '../common/metrics.js';
import { HttpServer } from '../common/rpc/server.js';
import { clusterToken, identityFrom } from '../common/security.js';
import { currentUser } from '../common/users.js';
import { prepareRootUfs } from './root-ufs.js';
import { registerMasterApi } from './api.js';
import { Jobs } from './jobs.js';
import { MetaStore } from './metastore.js';
import { MountTable } from './mount-table.js';
import { Namespace } from './namespace.js';
import { PermissionChecker } from './permissions.js';
import { WorkerClients } from './worker-client.js';
import { WorkerRegistry } from './worker-registry.js';

export class MasterProcess {
  rpcPort = 0;
  webPort = 0;
  private constructor(
    private readonly parts: {
      store: MetaStore;
      workers: WorkerRegistry;
      jobs: Jobs;
      rpc: HttpServer;
      web: HttpServer;
      logger: Logger;
    },
  ) {}

  /** The API server, for a worker in this same process to call without a socket. */
  get rpcServer(): HttpServer {
    return this.parts.rpc;
  }

  static async start(conf: Configuration, logger: Logger): Promise<MasterProcess> {
    const store = new MetaStore(conf.get('strata.master.metastore.dir'));
    const me = currentUser();
    const superUser = me.user;
    Namespace.initRoot(store, me.user, me.group);
    if (store.mounts().length === 0) {
      const rootUfs = conf.get('strata.master.mount.table.root.ufs');
      const options = conf.withPrefix('strata.master.mount.table.root.option.');
      await prepareRootUfs(rootUfs, options);
      store.addMount({
        path: '/',
        ufs_uri: rootUfs,
        options: JSON.stringify(options),
        readonly: conf.getBool('strata.master.mount.table.root.readonly') ? 1 : 0,
        shared: conf.getBool('strata.master.mount.table.root.shared') ? 1 : 0,
      });
    }
    const mounts = new MountTable(store);
    const identity = identityFrom(conf);
    const clients = new WorkerClients({ ...identity, user: superUser }, conf.getMs('strata.user.rpc.timeout'));
    let namespace: Namespace | undefined;
    const workers = new WorkerRegistry({
      timeoutMs: conf.getMs('strata.master.worker.timeout'),
      logger,
      pinnedFileIds: () => namespace?.pinnedFileIds() ?? [],
    });
    namespace = new Namespace({
      store,
      mounts,
      workers,
      logger,
      permissions: new PermissionChecker({
        enabled: conf.getBool('strata.security.authorization.permission.enabled'),
        superUser,
        superGroup: conf.get('strata.security.authorization.permission.supergroup'),
      }),
      removeBlocksOnWorkers: async (byWorker) => {
        await Promise.all(
          [...byWorker].map(async ([id, blockIds]) => {
            const w = workers.get(id);
            if (!w) return;
            try {
              await clients.removeBlocks(w.address, blockIds);
            } catch (err) {
              workers.queueRemovals(id, blockIds);
              throw err;
            }
          }),
        );
      },
      forgetPrefetches: async (fileIds) => {
        if (fileIds.length === 0) return;
        await Promise.all(
          workers.live().map((w) =>
            clients.forgetPrefetches(w.address, fileIds).catch((err: unknown) => logger.warn({ err, worker: w.address }, 'could not tell a worker to forget prefetches')),
          ),
        );
      },
      pinsChanged: async (fileIds) => {
        await Promise.all(
          workers.live().map((w) =>
            clients.setPinned(w.address, fileIds).catch((err: unknown) => logger.warn({ err, worker: w.address }, 'could not push pins; the next heartbeat will')),
          ),
        );
      },
      syncIntervalMs: conf.getMs('strata.user.file.metadata.sync.interval'),
      defaultBlockSize: conf.getBytes('strata.user.block.size.bytes.default'),
      umask: Number.parseInt(conf.get('strata.security.authorization.permission.umask'), 8),
    });
    const jobs = new Jobs({
      store,
      namespace,
      mounts,
      workers,
      clients,
      logger,
      persistIntervalMs: conf.getMs('strata.master.persistence.checker.interval'),
      persistRetryMs: conf.getMs('strata.master.persistence.retry.interval'),
      ttlIntervalMs: conf.getMs('strata.master.ttl.checker.interval'),
      superUser,
    });

    const registry = newRegistry('master', true);
    const operations = new Counter({ name: 'strata_master_operations_total', help: 'Namespace operations by kind', labelNames: ['op'] as const, registers: [registry] });
    new Gauge({
      name: 'strata_master_workers',
      help: 'Workers by state',
      labelNames: ['state'] as const,
      registers: [registry],
      collect() {
        const all = workers.list();
        this.set({ state: 'LIVE' }, all.filter((w) => w.state === 'LIVE').length);
        this.set({ state: 'LOST' }, all.filter((w) => w.state === 'LOST').length);
      },
    });
    new Gauge({
      name: 'strata_master_cluster_capacity_bytes',
      help: 'Cache capacity and use over live workers, by tier',
      labelNames: ['tier', 'kind'] as const,
      registers: [registry],
      collect() {
        for (const t of workers.capacity()) {
          this.set({ tier: t.alias, kind: 'capacity' }, t.capacityBytes);
          this.set({ tier: t.alias, kind: 'used' }, t.usedBytes);
        }
      },
    });
    new Gauge({
      name: 'strata_master_inodes',
      help: 'Files and folders in the namespace',
      registers: [registry],
      collect() {
        this.set(store.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM inodes').get()!.n);
      },
    });

    const token = clusterToken(conf);
    const rpc = rpcServer('master', registry, { token, logger });
    const startTimeMs = Date.now();
    registerMasterApi(rpc, { namespace, mounts, workers, store, jobs, operations, startTimeMs });
    const web = webServer('master web', registry, () => ({ role: 'master', startTimeMs, workers: workers.list(), capacity: workers.capacity() }), logger);
    const master = new MasterProcess({ store, workers, jobs, rpc, web, logger });
    const host = conf.get('strata.master.bind.host');
    try {
      master.rpcPort = await rpc.listen(conf.getInt('strata.master.rpc.port'), host);
      master.webPort = await web.listen(conf.getInt('strata.master.web.port'), host);
    } catch (err) {
      await master.stop();
      throw err;
    }
    jobs.start();
    logger.info({ rpcPort: master.rpcPort, webPort: master.webPort, metastore: join(conf.get('strata.master.metastore.dir')) }, 'master started');
    return master;
  }

  async stop(): Promise<void> {
    const p = this.parts;
    p.jobs.stop();
    await Promise.all([p.rpc.close(), p.web.close()]);
    await p.jobs.drain();
    p.workers.close();
    p.store.close();
    p.logger.info('master stopped');
  }
}
