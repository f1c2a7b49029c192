/**
 * Everything one run reads from, started for the run and removed after it, in this order:
 * an s3rver on 127.0.0.1 (random port, temporary folder) holding the dataset (and a warm-up set), the throttling
 * proxy in front of it when asked (a process of its own), a copy of the same dataset on local disk, and a Strata cluster
 * (`strata local start`, own work dir, ports and MEM tier) with the bucket prefix mounted at
 * /training-data through the proxy and that folder read through a FUSE mount: the worker's own
 * (in its process) or a daemon's. The mount writes with MUST_CACHE, as a training job's
 * intermediate files would be written.
 * close() undoes whatever was started, in reverse, also after a failed start; so does SIGINT or
 * SIGTERM during the run, before the process exits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { generateDataset, localSink, s3Sink, type DatasetSink } from '../../datasets/generate.js';
import { CliEnv, fuseDaemonPids, type RunResult } from '../cli-env.js';
import { S3RVER_KEY, startS3rver, type S3Server } from '../s3rver.js';
import { spawnThrottleProxy, type ProxyProcess } from '../throttle-proxy-process.js';
import type { DatasetLocation, FolderLocation } from './dataset-location.js';
import type { TrainInputOptions } from './options.js';
import type { RunHooks } from './run.js';

export const BUCKET = 'strata-bench';
/** Keys are imagefolder/train/class-NN/NNNNN.png. */
export const PREFIX = 'imagefolder';
export const STRATA_DIR = '/training-data';
/** The warm-up set's folder, beside the dataset's train/. */
const WARM_UP_DIR = 'warmup';

export interface TrainInputEnvironment {
  /** The dataset's files, relative to its root (train/class-NN/NNNNN.png). */
  files: string[];
  bytes: number;
  /** The warm-up set's files, beside the dataset's (warmup/train/class-NN/NNNNN.png). */
  warmUpFiles: string[];
  localDisk: FolderLocation;
  /** The bucket read with the plain SDK, through the proxy when there is one. */
  sdk: DatasetLocation;
  /** The same files through Strata's FUSE mount. */
  mount: FolderLocation;
  s3: S3Server;
  proxy?: ProxyProcess;
  cluster: CliEnv;
  /** Strata's processes: master and worker (one `local` process), and the FUSE daemon unless the mount runs in the worker. */
  daemons: { masterWorker: number; fuse?: number };
  /** The web ports (/metrics) of the master and the worker. */
  webPorts: number[];
  close(): Promise<void>;
}

/** Every put goes to all sinks: the same bytes to the bucket and to local disk. */
function teeSink(...sinks: DatasetSink[]): DatasetSink {
  return {
    put: async (relPath, data) => void (await Promise.all(sinks.map((s) => s.put(relPath, data)))),
    close: async () => void (await Promise.all(sinks.map((s) => s.close?.()))),
  };
}

function must(r: RunResult, what: string): RunResult {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r;
}

export async function startEnvironment(opts: TrainInputOptions, hooks: RunHooks): Promise<TrainInputEnvironment> {
  const log = hooks.log;
  const undo: Array<() => Promise<void>> = [];
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      for (const step of undo.reverse()) await step().catch((err: unknown) => log(`cleanup: ${(err as Error).message}`));
    })());
  // Interrupted (Ctrl-C, kill): a plain exit would skip the cleanup and leave a dead mount.
  const onSignal = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping what this run started`);
    void close().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    const s3 = await startS3rver();
    undo.push(() => s3.stop());
    await s3.createBucket(BUCKET);
    const proxy = opts.slowUfs ? await spawnThrottleProxy({ host: '127.0.0.1', port: s3.port }, opts.slowUfs) : undefined;
    if (proxy) undo.push(() => proxy.stop());
    const ufsEndpoint = proxy?.endpoint ?? s3.endpoint;

    const localRoot = mkdtempSync(join(opts.localParent, 'strata-train-input-'));
    undo.push(async () => rmSync(localRoot, { recursive: true, force: true }));
    const started = performance.now();
    // The same bytes to local disk and to the bucket (straight to the server, not through the
    // proxy: the bucket is filled before the run), under `sub` of both roots.
    const bothUnder = (sub: string): DatasetSink =>
      teeSink(
        localSink(sub ? join(localRoot, sub) : localRoot),
        s3Sink({ bucket: BUCKET, prefix: sub ? `${PREFIX}/${sub}` : PREFIX, endpoint: s3.endpoint, accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY, pathStyle: true }),
      );
    const spec = { format: 'imagefolder', count: opts.count, imageBytes: opts.imageBytes, classes: opts.classes, seed: opts.seed } as const;
    const { files, bytes } = await generateDataset(spec, bothUnder(''), () => hooks.datasetProgress?.());
    log(`dataset: ${files.length} files, ${(bytes / 1e6).toFixed(1)} MB, in s3://${BUCKET}/${PREFIX} and ${localRoot} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    let warmUpFiles: string[] = [];
    let warmUpBytes = 0;
    if (opts.warmUp > 0) {
      const warm = await generateDataset({ ...spec, count: opts.warmUp, seed: opts.seed + 1 }, bothUnder(WARM_UP_DIR));
      warmUpFiles = warm.files.map((f) => `${WARM_UP_DIR}/${f}`);
      warmUpBytes = warm.bytes;
    }

    const cluster = await CliEnv.create({
      // Room for the dataset and the intermediate files, so nothing is evicted between epochs.
      'strata.worker.tieredstore.level0.dirs.quota': `${Math.ceil(((bytes + warmUpBytes) * 1.5) / 2 ** 20) + 256}MB`,
      'strata.user.rpc.timeout': '30s',
      ...opts.clusterConf,
    });
    undo.push(async () => {
      await cluster.unmountAll();
      await cluster.run(['local', 'stop']);
      await cluster.cleanup();
    });
    const mountPoint = join(cluster.dir, 'mnt');
    // The mount writes intermediates with MUST_CACHE. The worker's own mount is made at its start,
    // before the bucket is mounted in Strata: it takes the root.
    const writeType = '--conf=strata.user.file.writetype.default=MUST_CACHE';
    const inWorker = opts.fuse === 'worker';
    const workerMount = inWorker ? [writeType, `--conf=strata.worker.fuse.mount.point=${mountPoint}`, '--conf=strata.worker.fuse.mount.strata.path=/'] : [];
    must(await cluster.run(['local', 'start', `--conf=strata.worker.fuse.enabled=${inWorker}`, ...workerMount]), 'strata local start');
    const mountOptions = Object.entries(s3.options({ 's3.endpoint': ufsEndpoint })).flatMap(([k, v]) => ['--option', `${k}=${v}`]);
    must(await cluster.run(['fs', 'mount', STRATA_DIR, `s3://${BUCKET}/${PREFIX}`, ...mountOptions]), 'strata fs mount');
    if (!inWorker) must(await cluster.run(['fuse', 'mount', mountPoint, STRATA_DIR, writeType]), 'strata fuse mount');
    const datasetRoot = inWorker ? join(mountPoint, STRATA_DIR) : mountPoint;
    log(`Strata: ${STRATA_DIR} = s3://${BUCKET}/${PREFIX} via ${ufsEndpoint}, FUSE-mounted at ${datasetRoot} (${inWorker ? "in the worker's process" : 'a daemon'})`);
    const masterWorker = cluster.localPid();
    const [fuse] = fuseDaemonPids(cluster.workDir);
    if (!masterWorker || (!fuse && !inWorker)) throw new Error(`cannot find Strata's processes (local ${masterWorker}, FUSE ${fuse})`);

    return {
      files,
      bytes,
      warmUpFiles,
      localDisk: { kind: 'folder', root: localRoot },
      sdk: { kind: 's3', endpoint: ufsEndpoint, bucket: BUCKET, prefix: PREFIX },
      mount: { kind: 'folder', root: datasetRoot },
      s3,
      proxy,
      cluster,
      daemons: { masterWorker, fuse },
      webPorts: [Number(cluster.props['strata.master.web.port']), Number(cluster.props['strata.worker.web.port'])],
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
