/**
 * The worker process: the tiered block store, read-through from the UFS, the data server on
 * the RPC port, /metrics on the web port, and the link to the master.
 */
import type { Configuration } from '../common/config/configuration.js';
import { requireSize } from '../common/config/units.js';
import { StrataError } from '../common/errors.js';
import type { Logger } from '../common/logging.js';
import { Counter, Gauge, newRegistry, rpcServer, webServer } from '../common/metrics.js';
import { RpcClient, masterUrl, workerUrl, type InProcessServers } from '../common/rpc/client.js';
import { HttpServer } from '../common/rpc/server.js';
import { clusterToken, identityFrom } from '../common/security.js';
import { join } from 'node:path';
import type { WorkerAddress } from '../common/types.js';
import { BlockStore, type TierConfig } from './block-store/index.js';
import { Prefetcher } from './prefetcher.js';
import { BlockFiller } from './block-fill.js';
import { registerDataServer } from './data-server.js';
import { MasterLink } from './master-link.js';
import { Persister } from './persister.js';
import { UfsAccess } from './ufs-access.js';
import { mountTmpfs } from './tmpfs-mount.js';

export function tiersFrom(conf: Configuration): TierConfig[] {
  const levels = conf.getInt('strata.worker.tieredstore.levels');
  if (levels < 1 || levels > 3) throw new StrataError('INVALID_ARGUMENT', `strata.worker.tieredstore.levels must be 1, 2 or 3 (got ${levels})`);
  const tiers: TierConfig[] = [];
  for (let n = 0; n < levels; n++) {
    const key = `strata.worker.tieredstore.level${n}`;
    const paths = conf.getList(`${key}.dirs.path`);
    const quotas = conf.getList(`${key}.dirs.quota`).map((q) => requireSize(q, `${key}.dirs.quota`));
    if (paths.length === 0) throw new StrataError('INVALID_ARGUMENT', `${key}.dirs.path is empty`);
    tiers.push({
      alias: conf.getEnum(`${key}.alias`),
      // Alluxio reuses the last quota for dirs that have none.
      dirs: paths.map((path, i) => ({ path, quotaBytes: quotas[Math.min(i, quotas.length - 1)] ?? 0 })),
    });
  }
  return tiers;
}

export class WorkerProcess {
  rpcPort = 0;
  webPort = 0;

  private constructor(
    private readonly parts: { store: BlockStore; link: MasterLink; prefetcher: Prefetcher; rpc: HttpServer; web: HttpServer; address: WorkerAddress; logger: Logger },
  ) {}

  get workerId(): number {
    return this.parts.link.workerId;
  }

  /** The base URL clients reach this worker's API at (as the master lists it). */
  get url(): string {
    return workerUrl(this.parts.address);
  }

  get rpcServer(): HttpServer {
    return this.parts.rpc;
  }

  /** `inProcess`: the master, when it runs in this process (strata local); else it is called over HTTP. */
  static async start(conf: Configuration, logger: Logger, opts: { inProcess?: InProcessServers } = {}): Promise<WorkerProcess> {
    const tiers = tiersFrom(conf);
    tiers.forEach((tier, n) => {
      const property = `strata.worker.tieredstore.level${n}.dirs.mount`;
      if (conf.getEnum(property) === 'TMPFS') for (const d of tier.dirs) mountTmpfs(d.path, d.quotaBytes, { property, logger });
    });
    const store = await BlockStore.open({ tiers, indexPath: join(conf.get('strata.worker.index.dir'), 'blocks.db'), logger });
    const identity = identityFrom(conf);
    const timeoutMs = conf.getMs('strata.user.rpc.timeout');
    const master = masterUrl(conf);
    const host = conf.get('strata.worker.bind.host');
    const registry = newRegistry('worker', false);
    const rpc = rpcServer('worker', registry, { token: clusterToken(conf), logger });
    let rpcPort: number;
    let webPort: number;
    const web = webServer('worker web', registry, () => ({ role: 'worker', tiers: store.usage(), stats: store.stats }), logger);
    try {
      rpcPort = await rpc.listen(conf.getInt('strata.worker.rpc.port'), host);
      webPort = await web.listen(conf.getInt('strata.worker.web.port'), host);
    } catch (err) {
      await Promise.all([rpc.close(), web.close()]);
      await store.close();
      throw err;
    }
    const address = { host: conf.get('strata.worker.hostname'), rpcPort, webPort };
    const link = new MasterLink(new RpcClient('master', master, identity, timeoutMs, opts.inProcess?.get(master)), store, address, logger);
    const ufs = new UfsAccess(link);
    const metrics = {
      bytesRead: new Counter({ name: 'strata_worker_bytes_read_total', help: 'Bytes served to readers, by source (cache or ufs)', labelNames: ['source'] as const, registers: [registry] }),
      blockRequests: new Counter({ name: 'strata_worker_block_requests_total', help: 'Block reads by cache hit or miss', labelNames: ['result'] as const, registers: [registry] }),
      bytesWritten: new Counter({ name: 'strata_worker_bytes_written_total', help: 'Bytes written by clients, by target', labelNames: ['target'] as const, registers: [registry] }),
    };
    new Gauge({
      name: 'strata_worker_tier_bytes',
      help: 'Capacity and use per tier',
      labelNames: ['tier', 'kind'] as const,
      registers: [registry],
      collect() {
        for (const t of store.usage()) {
          this.set({ tier: t.alias, kind: 'capacity' }, t.capacityBytes);
          this.set({ tier: t.alias, kind: 'used' }, t.usedBytes);
        }
      },
    });
    new Gauge({
      name: 'strata_worker_leases',
      help: 'Short-circuit leases held by readers on this host, and the blocks they keep in place',
      labelNames: ['kind'] as const,
      registers: [registry],
      collect() {
        const held = store.leasesHeld;
        this.set({ kind: 'leases' }, held.leases);
        this.set({ kind: 'blocks' }, held.blocks);
      },
    });
    new Gauge({
      name: 'strata_worker_evictions',
      help: 'Blocks evicted, demoted and promoted since start',
      labelNames: ['kind'] as const,
      registers: [registry],
      collect() {
        this.set({ kind: 'evicted' }, store.stats.evictions);
        this.set({ kind: 'demoted' }, store.stats.demotions);
        this.set({ kind: 'promoted' }, store.stats.promotions);
        this.set({ kind: 'evicted_bytes' }, store.stats.evictedBytes);
      },
    });
    const filler = new BlockFiller(
      store,
      ufs,
      (meta) => link.commit([meta.blockId]),
      (n) => metrics.bytesRead.inc({ source: 'ufs_fill' }, n),
      logger,
    );
    const leaseTimeoutMs = conf.getMs('strata.worker.shortcircuit.lease.timeout');
    const persister = new Persister({ store, ufs, master: link, identity, timeoutMs, leaseTimeoutMs });
    const prefetcher = new Prefetcher(store, filler, { concurrency: Math.max(1, conf.getInt('strata.worker.prefetch.concurrency')), maxQueued: 1_000_000, headroom: 0.05, evictIdleMs: conf.getMs('strata.worker.prefetch.evict.idle') }, logger);
    registerDataServer(rpc, { store, filler, prefetcher, ufs, master: link, persister, metrics, logger, leaseTimeoutMs, topTier: tiers[0]!.alias });
    await link.heartbeat();
    link.start(conf.getMs('strata.worker.block.heartbeat.interval'));
    const worker = new WorkerProcess({ store, link, prefetcher, rpc, web, address, logger });
    worker.rpcPort = rpcPort;
    worker.webPort = webPort;
    logger.info({ rpcPort, webPort, tiers: tiers.map((t) => t.alias) }, 'worker started');
    return worker;
  }

  async stop(): Promise<void> {
    const p = this.parts;
    await p.link.stop();
    await Promise.all([p.rpc.close(), p.web.close()]);
    p.prefetcher.close();
    await p.store.close();
    p.logger.info('worker stopped');
  }
}
