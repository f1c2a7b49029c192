/**
 * Read throughput of a cached file through the client, beside plain reads of the same bytes.
 * A file (1 GiB by default, STRATA_BENCH_MB to change) is written MUST_CACHE into a MEM tier in
 * /dev/shm, then read sequentially with 4 MiB reads: short-circuit (the client reads the
 * worker's cache file under a lease), over the worker's data server (HTTP on loopback), and
 * directly from the cache file and from a copy on local disk. Medians of 3 runs, MB = 10^6 B.
 *   npm run build && node dist/bench/cached-read.js
 */
import { open, copyFile } from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FileSystem } from '../src/client/file-system.js';
import { RpcClient } from '../src/common/rpc/client.js';
import { startCluster } from '../test/helpers/cluster.js';
import { median, printTable, writeResults, type Row } from './report.js';
import { readWhole } from './strata-read.js';

const SIZE_MB = Number(process.env.STRATA_BENCH_MB ?? 1024);
const SIZE = SIZE_MB * 1024 * 1024;
const READ = 4 << 20;
const RUNS = 3;

async function timeIt(fn: () => Promise<number>): Promise<number> {
  const t0 = process.hrtime.bigint();
  const bytes = await fn();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return bytes / s / 1e6;
}

async function readLocal(path: string): Promise<number> {
  const fh = await open(path, 'r');
  const buf = Buffer.allocUnsafe(READ);
  let total = 0;
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, READ, total);
      if (bytesRead === 0) return total;
      total += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

async function main(): Promise<void> {
  const cluster = await startCluster({ conf: { 'strata.worker.tieredstore.level0.dirs.quota': `${SIZE_MB + 256}MB` } });
  const diskDir = mkdtempSync(join(tmpdir(), 'strata-bench-'));
  try {
    const out = await cluster.fs.createFile('/bench/file.bin', { writeType: 'MUST_CACHE', recursive: true });
    const chunk = randomBytes(READ);
    for (let done = 0; done < SIZE; done += READ) await out.write(chunk);
    const info = await out.close();
    if (info.inAlluxioPercentage !== 100) throw new Error(`file is ${info.inAlluxioPercentage}% cached`);
    const shortCircuit = new FileSystem(cluster.conf);
    const remote = new FileSystem(cluster.conf.with({ 'strata.user.short.circuit.enabled': 'false' }));
    const cachePath = await findCacheFile(cluster.fs, cluster.conf.get('strata.security.token'));
    const diskCopy = join(diskDir, 'copy.bin');
    await copyFile(cachePath, diskCopy);
    const cases: Array<[string, () => Promise<number>]> = [
      ['cache file read directly (/dev/shm)', () => readLocal(cachePath)],
      ['local disk copy read directly (page cache warm)', () => readLocal(diskCopy)],
      ['strata client, short-circuit', () => readWhole(shortCircuit, '/bench/file.bin', Buffer.allocUnsafe(READ))],
      ['strata client, over the data server', () => readWhole(remote, '/bench/file.bin', Buffer.allocUnsafe(READ))],
    ];
    const rows: Row[] = [];
    for (const [name, fn] of cases) {
      const runs: number[] = [];
      for (let i = 0; i < RUNS; i++) runs.push(await timeIt(fn));
      rows.push({ name, mbPerS: median(runs), runs });
    }
    printTable(`Cached sequential read of ${SIZE_MB} MiB, 4 MiB reads`, rows, 'cache file read directly (/dev/shm)');
    const file = writeResults('cached-read', { sizeMiB: SIZE_MB, readBytes: READ, rows });
    console.log(`\nresults: ${file}`);
    await shortCircuit.close();
    await remote.close();
  } finally {
    await cluster.stop();
    rmSync(diskDir, { recursive: true, force: true });
  }
}

/** Asks the worker for a lease to learn where the cache file is, then gives the lease back. */
async function findCacheFile(fs: FileSystem, token: string): Promise<string> {
  const info = await fs.getStatus('/bench/file.bin', { blocks: true });
  const loc = info.blocks![0]!.locations[0]!;
  const worker = new RpcClient('worker', `http://${loc.address.host}:${loc.address.rpcPort}`, { token, user: 'bench', group: 'bench' }, 10_000);
  const lease = await worker.call<{ leaseId: string; blocks: { cacheFile: string }[] }>('POST', '/api/v1/lease', { body: { blockIds: [info.blocks![0]!.blockId] } });
  await worker.call('POST', '/api/v1/lease/release', { body: { leaseId: lease.leaseId } });
  return lease.blocks[0]!.cacheFile;
}

await main();
