/**
 * A real master and real workers in this process, on random loopback ports, with every folder
 * (metadata store, UFS root, tier dirs in /dev/shm) under fresh temporary folders that stop()
 * removes. Tests that need separate processes use the CLI instead (see cli.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { unmountAllUnder } from '../../src/common/system-mounts.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Configuration } from '../../src/common/config/configuration.js';
import { createLogger, silentLogger } from '../../src/common/logging.js';
const testLogger = process.env.STRATA_TEST_LOG ? createLogger({ name: 'test', level: 'debug' }) : silentLogger;
import { FileSystem } from '../../src/client/file-system.js';
import { masterUrl } from '../../src/common/rpc/client.js';
import { MasterProcess } from '../../src/master/master-process.js';
import { WorkerProcess } from '../../src/worker/worker-process.js';

export interface TestCluster {
  dir: string;
  conf: Configuration;
  master: MasterProcess;
  workers: WorkerProcess[];
  fs: FileSystem;
  ufsRoot: string;
  startWorker(extra?: Record<string, string>): Promise<WorkerProcess>;
  restartMaster(): Promise<void>;
  stop(): Promise<void>;
}

export async function startCluster(
  opts: {
    workers?: number;
    conf?: Record<string, string>;
    workerConf?: Array<Record<string, string>>;
    /** Workers call the master in this process, without HTTP, as `strata local` wires them. */
    inProcessMaster?: boolean;
  } = {},
): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'strata-test-'));
  const shm = mkdtempSync('/dev/shm/strata-test-');
  const ufsRoot = join(dir, 'ufs');
  let conf = Configuration.load({ env: {}, confDir: join(dir, 'conf') }).with({
    'strata.work.dir': dir,
    'strata.master.mount.table.root.ufs': ufsRoot,
    'strata.master.rpc.port': 0,
    'strata.master.web.port': 0,
    'strata.worker.rpc.port': 0,
    'strata.worker.web.port': 0,
    'strata.security.token': 'test-token',
    'strata.master.persistence.checker.interval': '100ms',
    'strata.worker.block.heartbeat.interval': '200ms',
    ...opts.conf,
  });
  let master = await MasterProcess.start(conf, testLogger);
  conf = conf.with({ 'strata.master.rpc.port': master.rpcPort });
  const workers: WorkerProcess[] = [];
  let n = 0;
  const startWorker = async (extra: Record<string, string> = {}) => {
    const i = n++;
    const wconf = conf.with({
      'strata.worker.tieredstore.level0.dirs.path': join(shm, `w${i}`),
      'strata.worker.index.dir': join(dir, `worker${i}`),
      ...extra,
    });
    const inProcess = opts.inProcessMaster ? new Map([[masterUrl(wconf), master.rpcServer]]) : undefined;
    const w = await WorkerProcess.start(wconf, testLogger, { inProcess });
    workers.push(w);
    return w;
  };
  try {
    for (let i = 0; i < (opts.workers ?? 1); i++) await startWorker(opts.workerConf?.[i]);
  } catch (err) {
    // A worker that would not start leaves nothing behind either.
    for (const w of workers) await w.stop().catch(() => undefined);
    await master.stop().catch(() => undefined);
    unmountAllUnder(dir);
    unmountAllUnder(shm);
    rmSync(dir, { recursive: true, force: true });
    rmSync(shm, { recursive: true, force: true });
    throw err;
  }
  const fs = new FileSystem(conf);
  const cluster: TestCluster = {
    dir,
    conf,
    get master() {
      return master;
    },
    workers,
    fs,
    ufsRoot,
    startWorker,
    async restartMaster() {
      // Workers wired in process keep calling the server they were given.
      if (opts.inProcessMaster) throw new Error('restartMaster() with inProcessMaster: the workers would keep calling the stopped master');
      await master.stop();
      master = await MasterProcess.start(conf, testLogger);
    },
    async stop() {
      for (const w of workers) await w.stop().catch(() => undefined);
      await master.stop().catch(() => undefined);
      await fs.close();
      unmountAllUnder(dir);
      unmountAllUnder(shm);
      rmSync(dir, { recursive: true, force: true });
      rmSync(shm, { recursive: true, force: true });
    },
  };
  return cluster;
}

export async function writeFile(fs: FileSystem, path: string, data: Buffer, writeType?: 'MUST_CACHE' | 'CACHE_THROUGH' | 'THROUGH' | 'ASYNC_THROUGH', blockSize?: number): Promise<void> {
  const out = await fs.createFile(path, { writeType, blockSize, recursive: true });
  for (let i = 0; i < data.length; i += 1 << 20) await out.write(data.subarray(i, i + (1 << 20)));
  await out.close();
}

export async function readFile(fs: FileSystem, path: string, readType?: 'NO_CACHE' | 'CACHE' | 'CACHE_PROMOTE'): Promise<Buffer> {
  const s = await fs.openFile(path, { readType });
  const parts: Buffer[] = [];
  try {
    for await (const chunk of s.chunks()) parts.push(Buffer.from(chunk));
  } finally {
    await s.close();
  }
  return Buffer.concat(parts);
}

export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
