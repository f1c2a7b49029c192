/**
 * One run of the training-input benchmark. After the environment is up and the dataset listed
 * through the mount (timed on its own: a DataLoader's ImageFolder walks the tree before training),
 * each epoch reads every file once in that epoch's shuffled order, by P reader threads, from:
 * local disk (its pages dropped from the page cache), local disk again with the page cache warm, the
 * bucket with the plain SDK (one request per reader in flight, then 64 in flight: what the UFS
 * gives here at most), and the Strata mount (epoch 1 cold, later epochs cached). Modes run
 * side by side, epoch by epoch, so that the machine's drift hits them all alike.
 */
import { cpus, release } from 'node:os';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { evictFromPageCache } from '../page-cache.js';
import { busyShare, cpuSeconds, machineTicks } from '../process-cpu.js';
import { requestsBetween, requestsServed } from '../rpc-requests.js';
import type { DownWindow } from '../throttle-proxy.js';
import type { DatasetLocation } from './dataset-location.js';
import { startEnvironment, BUCKET, PREFIX, STRATA_DIR, type TrainInputEnvironment } from './environment.js';
import { epochOrder } from './epoch-order.js';
import { checkMustCache } from './must-cache-check.js';
import type { TrainInputOptions } from './options.js';
import { ReaderPool } from './reader-pool.js';
import { MODES, describeTransfer, goals, ufsCeilingMBps, type EpochRow, type TrainInputResults } from './results.js';

/** CPU seconds used so far by Strata's processes and the UFS side's, and by the whole machine. */
function cpuNow(env: TrainInputEnvironment) {
  const masterWorker = cpuSeconds(env.daemons.masterWorker);
  // A mount inside the worker spends its CPU in the worker's process.
  const fuse = env.daemons.fuse === undefined ? 0 : cpuSeconds(env.daemons.fuse);
  const server = cpuSeconds(env.s3.pid);
  const proxy = env.proxy ? cpuSeconds(env.proxy.pid) : undefined;
  return {
    daemons: masterWorker === undefined || fuse === undefined ? undefined : { masterWorker, fuse },
    ufs: server === undefined ? undefined : { server, proxy },
    machine: machineTicks(),
  };
}

/** The window's `bytes` against the epoch that started at `startedAt`; undefined if too few came to time. */
function transferOf(w: DownWindow, bytes: number, startedAt: number): EpochRow['ufsTransfer'] {
  if (w.firstAt === undefined || w.lastAt === undefined || w.lastAt <= w.firstAt) return undefined;
  return { firstByteMs: w.firstAt - startedAt, lastByteMs: w.lastAt - startedAt, mbPerS: bytes / (w.lastAt - w.firstAt) / 1e3 };
}

const spent = (after: number | undefined, before: number | undefined): number | undefined => (after === undefined || before === undefined ? undefined : after - before);

/** Relative paths of the files under `root`/`sub`, depth first. */
async function walk(root: string, sub: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(root, sub), { withFileTypes: true })) {
    const rel = `${sub}/${e.name}`;
    if (e.isDirectory()) out.push(...(await walk(root, rel)));
    else out.push(rel);
  }
  return out;
}

/** Lists the dataset through the mount, from the mount's root down, and checks it is all there. */
async function listThroughMount(env: TrainInputEnvironment): Promise<{ seconds: number; files: number }> {
  const tops = [...new Set(env.files.map((f) => f.split('/')[0]!))];
  const t0 = performance.now();
  const root = new Set(await readdir(env.mount.root));
  for (const t of tops) if (!root.has(t)) throw new Error(`the mount's root does not list ${t}`);
  const listed = (await Promise.all(tops.map((t) => walk(env.mount.root, t)))).flat();
  const seconds = (performance.now() - t0) / 1000;
  const want = new Set(env.files);
  const missing = env.files.length - listed.filter((f) => want.has(f)).length;
  if (missing > 0 || listed.length !== env.files.length) {
    throw new Error(`the mount lists ${listed.length} files where the dataset has ${env.files.length} (${missing} missing)`);
  }
  return { seconds, files: listed.length };
}

/** The same bytes through the mount as on local disk, for a spread of files. */
async function compareSample(env: TrainInputEnvironment): Promise<void> {
  const step = Math.max(1, Math.floor(env.files.length / 16));
  for (let i = 0; i < env.files.length; i += step) {
    const rel = env.files[i]!;
    const [a, b] = await Promise.all([readFile(join(env.mount.root, rel)), readFile(join(env.localDisk.root, rel))]);
    if (!a.equals(b)) throw new Error(`${rel} reads differently through the mount (${a.length} bytes) than from local disk (${b.length} bytes)`);
  }
}

/** Requests in flight for the SDK row that shows what the UFS gives when asked for many objects at once. */
const UFS_IN_FLIGHT = 64;

export interface RunHooks {
  log(line: string): void;
  /** Called once per image generated. */
  datasetProgress?(): void;
}

export async function runTrainInput(opts: TrainInputOptions, hooks: RunHooks): Promise<TrainInputResults> {
  const log = hooks.log;
  const env = await startEnvironment(opts, hooks);
  const pools: ReaderPool[] = [];
  try {
    const listing = await listThroughMount(env);
    log(`listed ${listing.files} files through the mount in ${listing.seconds.toFixed(2)} s`);
    // Pools know the warm-up files too, after the dataset's: epochs give the dataset's indexes.
    const allFiles = [...env.files, ...env.warmUpFiles];
    const start = async (loc: DatasetLocation, inFlight = 1, threads = opts.readers, decode = opts.decode) => {
      const pool = await ReaderPool.start(loc, allFiles, threads, decode, inFlight);
      pools.push(pool);
      return pool;
    };
    const local = await start(env.localDisk);
    const sdk = await start(env.sdk);
    // One thread, one client: eight threads of eight each got a third less out of the same UFS.
    const sdkMany = await start(env.sdk, UFS_IN_FLIGHT, 1, false);
    const strata = await start(env.mount);
    const localFiles = env.files.map((f) => join(env.localDisk.root, f));

    if (env.warmUpFiles.length > 0) {
      const order = epochOrder(env.warmUpFiles.length, opts.seed + 1, 1).map((i) => env.files.length + i);
      const t0 = performance.now();
      for (const pool of [local, sdk, sdkMany, strata]) await pool.epoch(order);
      log(`warm-up: ${env.warmUpFiles.length} other files read once through every mode, cold through the mount (${((performance.now() - t0) / 1000).toFixed(1)} s, not in the table)`);
    }

    const rows: EpochRow[] = [];
    const timed = async (mode: string, epoch: number, source: string, pool: ReaderPool, order: number[], dropFirst: boolean) => {
      // The local copy's pages only: every mode then starts alike, with its code and metadata warm.
      if (dropFirst) await evictFromPageCache(localFiles);
      const requestsBefore = await requestsServed(env.webPorts);
      const cpuBefore = cpuNow(env);
      // Last before the epoch: the window then holds the epoch's bytes alone.
      const before = await env.proxy?.stats({ openWindow: true });
      const t = await pool.epoch(order);
      const cpuAfter = cpuNow(env);
      const requestsAfter = await requestsServed(env.webPorts);
      const after = await env.proxy?.stats();
      if (t.files !== env.files.length || t.bytes !== env.bytes) {
        throw new Error(`${mode}, epoch ${epoch}: read ${t.files} files and ${t.bytes} bytes, expected ${env.files.length} and ${env.bytes}`);
      }
      const row: EpochRow = {
        mode,
        epoch,
        source,
        seconds: t.seconds,
        mbPerS: t.bytes / t.seconds / 1e6,
        imagesPerS: t.files / t.seconds,
        ufsRequests: before && after ? after.requests - before.requests : undefined,
        ufsBytes: before && after ? after.bytesDown - before.bytesDown : undefined,
        ufsTransfer: before && after ? transferOf(after.window, after.bytesDown - before.bytesDown, t.startedAt) : undefined,
        daemonCpuSeconds:
          cpuBefore.daemons && cpuAfter.daemons
            ? { masterWorker: cpuAfter.daemons.masterWorker - cpuBefore.daemons.masterWorker, fuse: cpuAfter.daemons.fuse - cpuBefore.daemons.fuse }
            : undefined,
        ufsCpuSeconds:
          cpuBefore.ufs && cpuAfter.ufs ? { server: cpuAfter.ufs.server - cpuBefore.ufs.server, proxy: spent(cpuAfter.ufs.proxy, cpuBefore.ufs.proxy) } : undefined,
        machineCpuBusy: busyShare(cpuBefore.machine, cpuAfter.machine),
        strataRequests: requestsBetween(requestsBefore, requestsAfter),
      };
      rows.push(row);
      const cpu = row.daemonCpuSeconds;
      const ufsCpu = row.ufsCpuSeconds;
      const calls = row.strataRequests && Object.values(row.strataRequests).reduce((a, b) => a + b, 0);
      log(
        `${mode}, epoch ${epoch} (${source}): ${row.seconds.toFixed(2)} s, ${row.mbPerS.toFixed(1)} MB/s, ${row.imagesPerS.toFixed(0)} images/s` +
          `${row.ufsRequests === undefined ? '' : `, ${row.ufsRequests} UFS requests`}${row.ufsTransfer ? `, ${describeTransfer(row.ufsTransfer)}` : ''}${cpu ? `, Strata CPU ${cpu.masterWorker.toFixed(2)} s master+worker, ${cpu.fuse.toFixed(2)} s FUSE` : ''}` +
          `${ufsCpu ? `, UFS CPU ${ufsCpu.server.toFixed(2)} s server${ufsCpu.proxy === undefined ? '' : `, ${ufsCpu.proxy.toFixed(2)} s proxy`}` : ''}` +
          `${row.machineCpuBusy === undefined ? '' : `, machine CPU ${(row.machineCpuBusy * 100).toFixed(0)}% busy`}` +
          `${calls === undefined ? '' : `, ${calls} Strata API calls`}`,
      );
    };
    for (let epoch = 1; epoch <= opts.epochs; epoch++) {
      const order = epochOrder(env.files.length, opts.seed, epoch);
      await timed(MODES.localDisk, epoch, 'disk', local, order, true);
      await timed(MODES.localWarm, epoch, 'page cache', local, order, false);
      await timed(MODES.sdk, epoch, 'UFS', sdk, order, true);
      await timed(MODES.sdkMany, epoch, 'UFS', sdkMany, order, true);
      await timed(MODES.strata, epoch, epoch === 1 ? 'UFS (cold)' : 'Strata cache', strata, order, true);
    }
    await compareSample(env);
    const mustCache = await checkMustCache({ mountPoint: env.mount.root, strataDir: STRATA_DIR, cluster: env.cluster, s3: env.s3, bucket: BUCKET, prefix: PREFIX, fileBytes: opts.imageBytes });
    log(`MUST_CACHE check: ${mustCache.passed ? 'passed' : 'FAILED'}: ${mustCache.detail}`);

    const meanFileBytes = env.bytes / env.files.length;
    const slowUfs = opts.slowUfs && { ...opts.slowUfs, ceilingMBps: ufsCeilingMBps(opts.slowUfs, opts.readers, meanFileBytes) };
    return {
      date: new Date().toISOString(),
      host: { cpus: cpus().length, kernel: release(), node: process.version },
      options: { count: opts.count, imageBytes: opts.imageBytes, classes: opts.classes, readers: opts.readers, epochs: opts.epochs, warmUp: opts.warmUp, decode: opts.decode, fuse: opts.fuse, seed: opts.seed, clusterConf: opts.clusterConf },
      dataset: { format: 'imagefolder', files: env.files.length, bytes: env.bytes, meanFileBytes },
      pageCache: "the local copy's pages dropped from the page cache before each epoch but the warm one",
      slowUfs,
      listing,
      rows,
      goals: goals(rows, slowUfs, mustCache),
      mustCache,
    };
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    await env.close();
  }
}
