/**
 * Reads through the FUSE mount, beside the peers that bound it, measured in one run:
 * - a cached 1 GiB file (MEM tier in /dev/shm): dd bs=1M and fio with 1 and 4 jobs, through
 *   Strata with passthrough, Strata without passthrough (native replies from the cache file),
 *   bindfs over a copy in /dev/shm, and the cache file read directly;
 * - 2,000 x 128 KiB cached files read by 8 parallel readers, beside /dev/shm and bindfs;
 * - `ls -l` of a 10,000-file folder, and the median latency of stat on a cached entry.
 * Page caches are dropped before each timed run; medians of 3, the cases taken in turn in each
 * round so that the machine's drift falls on all alike. MB = 10^6 bytes.
 *   npm run build && node dist/bench/fuse-read.js   (as root; needs fuse3, fio, bindfs)
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CliEnv } from '../test/helpers/cli.js';
import { sh } from '../test/helpers/fuse.js';
import { dropPageCache } from '../src/bench/page-cache.js';
import { median, writeResults } from './report.js';

const SIZE_MB = Number(process.env.STRATA_BENCH_MB ?? 1024);
const SMALL = Number(process.env.STRATA_BENCH_SMALL ?? 2000);
const RUNS = 3;

async function must(cmd: string): Promise<string> {
  const r = await sh(cmd, { timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return r.stdout;
}

async function timed(cmd: string, bytes: number): Promise<number> {
  await dropPageCache();
  const t0 = process.hrtime.bigint();
  await must(cmd);
  return bytes / (Number(process.hrtime.bigint() - t0) / 1e9) / 1e6;
}

async function fio(file: string, jobs: number): Promise<number> {
  await dropPageCache();
  const out = await must(`fio --name=seq --rw=read --bs=1M --numjobs=${jobs} --filename=${file} --size=${SIZE_MB}M --ioengine=psync --group_reporting --output-format=json`);
  return (JSON.parse(out) as { jobs: Array<{ read: { bw_bytes: number } }> }).jobs[0]!.read.bw_bytes / 1e6;
}

async function main(): Promise<void> {
  const env = await CliEnv.create({
    'strata.worker.tieredstore.level0.dirs.quota': `${SIZE_MB * 2 + 1024}MB`,
    'strata.user.file.writetype.default': 'MUST_CACHE',
  });
  const shmSrc = join(env.shm, 'src');
  const mounts: string[] = [];
  const results: Record<string, unknown> = {};
  try {
    mkdirSync(join(shmSrc, 'small'), { recursive: true });
    await must(`head -c ${SIZE_MB}M /dev/urandom > ${shmSrc}/big.bin`);
    for (let i = 0; i < SMALL; i++) writeFileSync(join(shmSrc, 'small', `f${i}.bin`), randomBytes(128 * 1024));
    if ((await env.run(['local', 'start'])).code !== 0) throw new Error('local start failed');
    // A persisted folder, so that files put into its UFS folder show up in it.
    await env.run(['fs', 'mkdir', '/bench', '--conf', 'strata.user.file.writetype.default=CACHE_THROUGH']);
    for (const [src, dst] of [[`${shmSrc}/big.bin`, '/bench/big.bin'], [`${shmSrc}/small`, '/bench/small']]) {
      const r = await env.run(['fs', 'copyFromLocal', '--thread', '8', src!, dst!]);
      if (r.code !== 0) throw new Error(r.stderr);
    }
    const tierDir = String(env.props['strata.worker.tieredstore.level0.dirs.path']);
    const bigId = (await env.run(['fs', 'stat', '-f', '%i', '/bench/big.bin'])).stdout.trim();
    const cacheFile = join(tierDir, bigId);
    const mnt = (name: string) => {
      const p = join(env.dir, name);
      mounts.push(p);
      return p;
    };
    const pt = mnt('passthrough');
    const np = mnt('no-passthrough');
    const bind = mnt('bindfs');
    for (const [m, extra] of [[pt, []], [np, ['-o', 'no_passthrough']]] as const) {
      const r = await env.run(['fuse', 'mount', ...extra, m, '/bench']);
      if (r.code !== 0) throw new Error(r.stderr);
    }
    mkdirSync(bind);
    await must(`bindfs ${shmSrc} ${bind}`);
    const bytes = SIZE_MB * 1024 * 1024;
    const only = process.env.STRATA_BENCH_ONLY;
    const bigCases: Array<[string, string]> = only && only !== 'big' ? [] : [
      ['cache file read directly (/dev/shm)', cacheFile],
      ['strata fuse, passthrough', `${pt}/big.bin`],
      ['strata fuse, no passthrough (native replies)', `${np}/big.bin`],
      ['bindfs over /dev/shm', `${bind}/big.bin`],
    ];
    // Round-robin over the cases, so that the machine's drift falls on all of them alike.
    const big: Record<string, Record<string, { median: number; runs: number[] }>> = {};
    const tools: Array<[string, (file: string) => Promise<number>]> = [
      ['dd', (file) => timed(`dd if=${file} of=/dev/null bs=1M`, bytes)],
      ['fio1', (file) => fio(file, 1)],
      ['fio4', (file) => fio(file, 4)],
    ];
    for (let run = 0; run < (bigCases.length > 0 ? RUNS : 0); run++) {
      for (const [tool, measure] of tools) {
        for (const [name, file] of bigCases) ((big[name] ??= {})[tool] ??= { median: 0, runs: [] }).runs.push(await measure(file));
      }
    }
    for (const r of Object.values(big)) for (const t of Object.values(r)) t.median = median(t.runs);
    const direct = big['cache file read directly (/dev/shm)']!;
    if (bigCases.length > 0) console.log(`\nCached sequential read of ${SIZE_MB} MiB (MB/s, medians of ${RUNS}; ratio to the cache file read directly)`);
    if (bigCases.length > 0) console.log(`${'case'.padEnd(46)}${'dd bs=1M'.padStart(16)}${'fio 1 job'.padStart(16)}${'fio 4 jobs'.padStart(16)}`);
    for (const [name] of bigCases) {
      const r = big[name]!;
      const cell = (k: string) => `${r[k]!.median.toFixed(0)} (${(r[k]!.median / direct[k]!.median).toFixed(2)})`.padStart(16);
      console.log(`${name.padEnd(46)}${cell('dd')}${cell('fio1')}${cell('fio4')}`);
    }
    results.big = big;

    const smallBytes = SMALL * 128 * 1024;
    const readAll = (dir: string) => `cd ${dir} && ls | xargs -P 8 -n 25 cat > /dev/null`;
    const smallCases: Array<[string, string]> = only && only !== 'small' ? [] : [
      ['/dev/shm', `${shmSrc}/small`],
      ['strata fuse, passthrough', `${pt}/small`],
      ['strata fuse, no passthrough', `${np}/small`],
      ['bindfs over /dev/shm', `${bind}/small`],
    ];
    const small: Record<string, { median: number; runs: number[] }> = {};
    for (let run = 0; run < (smallCases.length > 0 ? RUNS : 0); run++) {
      for (const [name, dir] of smallCases) (small[name] ??= { median: 0, runs: [] }).runs.push(await timed(readAll(dir), smallBytes));
    }
    for (const r of Object.values(small)) r.median = median(r.runs);
    if (Object.keys(small).length > 0) console.log(`\n${SMALL} x 128 KiB cached files, 8 readers (MB/s; ratio to /dev/shm)`);
    if (Object.keys(small).length > 0) for (const [name, r] of Object.entries(small)) console.log(`${name.padEnd(46)}${r.median.toFixed(0).padStart(16)}${(r.median / small['/dev/shm']!.median).toFixed(2).padStart(10)}  runs ${r.runs.map((x) => x.toFixed(0)).join(', ')}`);
    results.small = small;

    // Metadata: a 10,000-file folder put straight into the UFS, listed through the mount.
    const many = join(env.ufsRoot, 'bench', 'many');
    mkdirSync(many, { recursive: true });
    for (let i = 0; i < 10_000; i++) writeFileSync(join(many, `f${String(i).padStart(5, '0')}`), '');
    await env.run(['fs', 'ls', '-f', '/bench']);
    const lsTimes: number[] = [];
    for (let i = 0; i < RUNS + 1; i++) {
      const t0 = process.hrtime.bigint();
      const out = await must(`ls -l ${pt}/many | wc -l`);
      lsTimes.push(Number(process.hrtime.bigint() - t0) / 1e9);
      if (Number(out.trim()) !== 10_001) throw new Error(`ls -l listed ${out.trim()} lines`);
      await new Promise((r) => setTimeout(r, 1100));
    }
    const statUs = Number(
      (await must(`python3 -c "
import os, time, statistics
p = '${pt}/big.bin'
os.stat(p)
ts = []
for _ in range(20000):
    t = time.perf_counter_ns(); os.stat(p); ts.append(time.perf_counter_ns() - t)
print(statistics.median(ts) / 1000)
"`)).trim(),
    );
    console.log(`\nls -l of a 10,000-file folder: first ${lsTimes[0]!.toFixed(2)} s (loads metadata from the UFS), then median ${median(lsTimes.slice(1)).toFixed(2)} s (goal < 1 s)`);
    console.log(`stat of a cached entry: median ${statUs.toFixed(1)} µs (goal < 50 µs)`);
    results.metadata = { lsSeconds: lsTimes, statMedianUs: statUs };
    console.log(`\nresults: ${writeResults('fuse-read', { sizeMiB: SIZE_MB, smallFiles: SMALL, ...results })}`);
  } finally {
    for (const m of mounts.reverse()) await sh(`umount -l ${m}`);
    await env.run(['local', 'stop']);
    await env.cleanup();
    rmSync(shmSrc, { recursive: true, force: true });
  }
}

await main();
