/**
 * S3 read benchmark: Strata over an S3 bucket beside a plain SDK GET from the same server and
 * beside other tools that mount S3 (rclone, s3fs) where installed.
 * s3rver (127.0.0.1, temporary folder) holds a 1 GiB object (STRATA_BENCH_S3_MB to change) and
 * 2,000 x 128 KiB objects; `strata local start` runs a master and a worker (MEM tier in /dev/shm)
 * in their own process, and this process reads as a client.
 * Each run reads, per system: the big object cold then cached (4 MiB reads for Strata, 1 MiB for
 * mounts, i.e. dd bs=1M), and all small objects cold then cached with 8 readers. "Cold" is
 * Strata after fs free, a peer on a fresh mount with an empty cache; the SDK has no cache.
 * Medians of 3 runs (STRATA_BENCH_RUNS), MB = 10^6 bytes. Page caches are not dropped (no
 * permission here): peers' cached reads may come from the kernel's page cache.
 * Strata is read through its FUSE mount (the goals' column) and through its client library.
 *   npm run build && npm run bench:s3
 */
import { randomBytes } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { FileSystem } from '../src/client/file-system.js';
import { Configuration } from '../src/common/config/configuration.js';
import { CliEnv } from '../test/helpers/cli.js';
import { S3RVER_KEY, startS3rver, type S3Server } from '../test/helpers/s3rver.js';
import { median, writeResults } from './report.js';
import { readWhole } from './strata-read.js';
import { rclone, s3fs, type MountSpec, type PosixMount } from './s3-peers.js';

const BIG_MB = Number(process.env.STRATA_BENCH_S3_MB ?? 1024);
const BIG = BIG_MB * 2 ** 20;
const SMALL_COUNT = Number(process.env.STRATA_BENCH_S3_SMALL ?? 2000);
const SMALL = 128 << 10;
const READERS = 8;
const RUNS = Number(process.env.STRATA_BENCH_RUNS ?? 3);
const BUCKET = 'bench';
// One level deep: s3rver drops common prefixes whose keys lie two levels below them.
const BIG_KEY = 'big/object.bin';
const smallKey = (i: number): string => `small/f${String(i).padStart(5, '0')}.bin`;
const MOUNTS: MountSpec[] = [rclone, s3fs];

type Case = 'bigCold' | 'bigCached' | 'smallCold' | 'smallCached';
const CASES: Array<{ key: Case; label: string; bytes: number }> = [
  { key: 'bigCold', label: `${BIG_MB} MiB sequential, cold`, bytes: BIG },
  { key: 'bigCached', label: `${BIG_MB} MiB sequential, cached`, bytes: BIG },
  { key: 'smallCold', label: `${SMALL_COUNT} x 128 KiB, ${READERS} readers, cold`, bytes: SMALL_COUNT * SMALL },
  { key: 'smallCached', label: `${SMALL_COUNT} x 128 KiB, ${READERS} readers, cached`, bytes: SMALL_COUNT * SMALL },
];

interface Column {
  name: string;
  runs: Partial<Record<Case, number[]>>;
  note?: string;
}

/** MB/s of one timed action that returns the bytes it read. */
async function mbps(action: () => Promise<number>, expected: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  const bytes = await action();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (bytes !== expected) throw new Error(`read ${bytes} bytes, expected ${expected}`);
  return bytes / s / 1e6;
}

async function inParallel(count: number, readOne: (i: number) => Promise<number>): Promise<number> {
  let next = 0;
  let total = 0;
  await Promise.all(
    Array.from({ length: READERS }, async () => {
      while (next < count) {
        const n = await readOne(next++);
        total += n; // not `total += await ...`: that would add to a stale total
      }
    }),
  );
  return total;
}

function record(col: Column, c: Case, value: number): void {
  (col.runs[c] ??= []).push(value);
}

// ---- the systems ----

async function sdkGet(s3: S3Server, key: string): Promise<number> {
  const r = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  let n = 0;
  for await (const c of r.Body as AsyncIterable<Buffer>) n += c.length;
  return n;
}

async function runSdk(s3: S3Server, col: Column): Promise<void> {
  record(col, 'bigCold', await mbps(() => sdkGet(s3, BIG_KEY), BIG));
  record(col, 'smallCold', await mbps(() => inParallel(SMALL_COUNT, (i) => sdkGet(s3, smallKey(i))), SMALL_COUNT * SMALL));
}

const strataRead = (fs: FileSystem, path: string, buf: Buffer): Promise<number> => readWhole(fs, path, buf, 'CACHE');

async function runStrata(fs: FileSystem, col: Column): Promise<void> {
  const big = Buffer.allocUnsafe(4 << 20);
  await fs.free('/s3/big');
  record(col, 'bigCold', await mbps(() => strataRead(fs, `/s3/big/object.bin`, big), BIG));
  record(col, 'bigCached', await mbps(() => strataRead(fs, `/s3/big/object.bin`, big), BIG));
  const bufs = Array.from({ length: READERS }, () => Buffer.allocUnsafe(SMALL));
  let slot = 0;
  const readSmall = (i: number) => strataRead(fs, `/s3/small/f${String(i).padStart(5, '0')}.bin`, bufs[slot++ % READERS]!);
  await fs.free('/s3/small');
  record(col, 'smallCold', await mbps(() => inParallel(SMALL_COUNT, readSmall), SMALL_COUNT * SMALL));
  record(col, 'smallCached', await mbps(() => inParallel(SMALL_COUNT, readSmall), SMALL_COUNT * SMALL));
}

async function posixRead(path: string, buf: Buffer): Promise<number> {
  const fh = await open(path, 'r');
  let total = 0;
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, total);
      if (bytesRead === 0) return total;
      total += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

async function runMount(mount: PosixMount, col: Column): Promise<void> {
  const buf = Buffer.allocUnsafe(1 << 20);
  const big = join(mount.dir, BIG_KEY);
  record(col, 'bigCold', await mbps(() => posixRead(big, buf), BIG));
  record(col, 'bigCached', await mbps(() => posixRead(big, buf), BIG));
  const readSmall = async (i: number) => (await readFile(join(mount.dir, smallKey(i)))).length;
  record(col, 'smallCold', await mbps(() => inParallel(SMALL_COUNT, readSmall), SMALL_COUNT * SMALL));
  record(col, 'smallCached', await mbps(() => inParallel(SMALL_COUNT, readSmall), SMALL_COUNT * SMALL));
}

/** Strata's own POSIX mount of /s3, read like the peers; each start begins cold (fs free). */
function strataFuse(cluster: CliEnv, fs: FileSystem): MountSpec {
  return {
    name: 'Strata (FUSE)',
    available: () => true,
    async start(): Promise<PosixMount> {
      await fs.free('/s3');
      const dir = join(cluster.dir, `fuse-${Date.now()}`);
      const r = await cluster.run(['fuse', 'mount', dir, '/s3']);
      if (r.code !== 0) throw new Error(`strata fuse mount: ${r.stderr}`);
      return {
        dir,
        stop: async () => {
          await cluster.run(['fuse', 'umount', '-f', dir]);
        },
      };
    },
  };
}

// ---- setup ----

async function fill(s3: S3Server): Promise<void> {
  await s3.createBucket(BUCKET);
  const pattern = randomBytes(8 << 20);
  async function* bigBody(): AsyncGenerator<Buffer> {
    for (let at = 0, i = 0; at < BIG; at += pattern.length, i++) {
      const c = Buffer.from(pattern.subarray(0, Math.min(pattern.length, BIG - at)));
      c.writeUInt32LE(i, 0);
      yield c;
    }
  }
  await new Upload({ client: s3.client, params: { Bucket: BUCKET, Key: BIG_KEY, Body: Readable.from(bigBody()) }, partSize: 64 << 20, queueSize: 2 }).done();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < SMALL_COUNT) {
        const i = next++;
        await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: smallKey(i), Body: randomBytes(SMALL) }));
      }
    }),
  );
}

// ---- report ----

function med(col: Column | undefined, c: Case): number | undefined {
  const runs = col?.runs[c];
  return runs && runs.length > 0 ? median(runs) : undefined;
}

function printTable(columns: Column[]): void {
  const w = 44;
  const cw = 26;
  console.log(`\nS3 reads (MB/s, median of ${RUNS}; MB = 10^6 B)`);
  console.log('case'.padEnd(w) + columns.map((c) => c.name.padStart(cw)).join(''));
  for (const c of CASES) {
    console.log(c.label.padEnd(w) + columns.map((col) => (med(col, c.key)?.toFixed(0) ?? '-').padStart(cw)).join(''));
  }
  for (const col of columns) if (col.note) console.log(`  ${col.name}: ${col.note}`);
}

function goals(columns: Column[]): Array<{ goal: string; ratio: number | undefined; target: number; met: boolean | undefined }> {
  const sdk = columns.find((c) => c.name === 'plain SDK GET');
  // The goals are about the mount, as a training job reads; the client column is shown beside it.
  const strata = columns.find((c) => c.name === 'Strata (FUSE)');
  const peers = columns.filter((c) => c !== sdk && !c.name.startsWith('Strata'));
  const div = (a?: number, b?: number) => (a !== undefined && b ? a / b : undefined);
  const fasterPeerSmall = Math.max(0, ...peers.map((p) => med(p, 'smallCached') ?? 0)) || undefined;
  const rows = [
    { goal: 'cold 1 GiB vs plain SDK GET', ratio: div(med(strata, 'bigCold'), med(sdk, 'bigCold')), target: 0.9 },
    { goal: 'cached 1 GiB vs cold 1 GiB', ratio: div(med(strata, 'bigCached'), med(strata, 'bigCold')), target: 3 },
    { goal: 'small cached vs the faster peer', ratio: div(med(strata, 'smallCached'), fasterPeerSmall), target: 2 },
  ];
  console.log('\nGoals');
  for (const r of rows) {
    const met = r.ratio === undefined ? undefined : r.ratio >= r.target;
    console.log(`  ${r.goal.padEnd(40)} ${r.ratio === undefined ? 'n/a' : `${r.ratio.toFixed(2)}x`} (goal >= ${r.target}x) ${met === undefined ? '' : met ? 'MET' : 'MISSED'}`);
  }
  return rows.map((r) => ({ ...r, met: r.ratio === undefined ? undefined : r.ratio >= r.target }));
}

async function main(): Promise<void> {
  const s3 = await startS3rver();
  let cluster: CliEnv | undefined;
  let fs: FileSystem | undefined;
  const mounts: PosixMount[] = [];
  try {
    console.log(`uploading ${BIG_MB} MiB and ${SMALL_COUNT} x 128 KiB to s3rver at ${s3.endpoint} ...`);
    await fill(s3);
    // Master and worker in their own process (`strata local start`), as deployed; this process
    // is the client, as a training job would be.
    const quota = `${Math.ceil((BIG + SMALL_COUNT * SMALL) / 2 ** 30) + 1}GB`;
    cluster = await CliEnv.create({ 'strata.worker.tieredstore.level0.dirs.quota': quota });
    const started = await cluster.run(['local', 'start']);
    if (started.code !== 0) throw new Error(`strata local start failed: ${started.stderr}`);
    const clientConf = Object.fromEntries((process.env.STRATA_BENCH_CLIENT_CONF ?? '').split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
    fs = new FileSystem(Configuration.load({ env: {}, confDir: cluster.confDir }).with(clientConf));
    await fs.mount('/s3', `s3://${BUCKET}`, { options: s3.options() });
    await fs.listStatus('/s3', { recursive: true }); // metadata loaded once, as a training job's first epoch would

    const sdk: Column = { name: 'plain SDK GET', runs: {} };
    const strata: Column = { name: 'Strata (client)', runs: {}, note: 'client library reads' };
    const peers = [strataFuse(cluster, fs), ...MOUNTS].map((spec) => ({ spec, col: { name: spec.name, runs: {} } as Column }));
    for (const p of peers) if (!p.spec.available()) p.col.note = 'not installed';
    const target = { endpoint: s3.endpoint, bucket: BUCKET, accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY };
    for (let run = 1; run <= RUNS; run++) {
      console.log(`run ${run}/${RUNS}`);
      await runSdk(s3, sdk);
      await runStrata(fs, strata);
      for (const p of peers) {
        if (!p.spec.available()) continue;
        try {
          const m = await p.spec.start(target);
          mounts.push(m);
          try {
            await runMount(m, p.col);
          } finally {
            await m.stop();
            mounts.splice(mounts.indexOf(m), 1);
          }
        } catch (err) {
          p.col.note = `failed: ${(err as Error).message.slice(0, 200)}`;
          console.log(`${p.spec.name}: ${p.col.note}`);
        }
      }
    }
    const columns = [sdk, strata, ...peers.map((p) => p.col)];
    printTable(columns);
    const goalRows = goals(columns);
    const file = writeResults('s3-read', {
      date: new Date().toISOString(),
      bigBytes: BIG,
      small: { count: SMALL_COUNT, bytes: SMALL, readers: READERS },
      runs: RUNS,
      columns: columns.map((c) => ({ ...c, medians: Object.fromEntries(CASES.map((k) => [k.key, med(c, k.key)])) })),
      goals: goalRows,
    });
    console.log(`\nresults: ${file}`);
  } finally {
    for (const m of mounts) await m.stop().catch(() => undefined);
    await fs?.close();
    await cluster?.run(['local', 'stop']);
    await cluster?.cleanup();
    await s3.stop();
  }
}

await main();
