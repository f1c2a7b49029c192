/**
 * What the memory tier's folder costs to fill and empty: N small cache files (2000 of 103 KB by
 * default, a training image's size) written as a fill writes them (64 KiB chunks off the
 * network, one writev per file, on the worker's thread), read back whole, and deleted, in a
 * folder of /dev/shm and in a tmpfs of the tier's own (strata.worker.tieredstore.levelN.dirs.mount
 * = TMPFS: huge=within_size; mounting needs root). Rounds alternate between the two; medians of
 * 5, MB = 10^6 B.
 *   npm run build && node dist/bench/memory-tier.js [files] [bytes]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { silentLogger } from '../src/common/logging.js';
import { openForWrite, writeAllAt } from '../src/worker/block-store/cache-file.js';
import { mountTmpfs } from '../src/worker/tmpfs-mount.js';
import { median, printTable, writeResults, type Row } from './report.js';

const FILES = Number(process.argv[2] ?? 2000);
const BYTES = Number(process.argv[3] ?? 103 * 1024);
const ROUNDS = 5;
const CHUNK = 64 * 1024;

interface Round {
  writeMs: number;
  readMs: number;
  deleteMs: number;
}

async function round(dir: string, chunks: Buffer[]): Promise<Round> {
  const paths = Array.from({ length: FILES }, (_, i) => join(dir, String(i + 1)));
  let t = performance.now();
  for (const p of paths) {
    const fh = await openForWrite(p, true);
    await writeAllAt(fh, chunks, 0);
    await fh.close();
  }
  const writeMs = performance.now() - t;
  t = performance.now();
  for (const p of paths) if (readFileSync(p).length !== BYTES) throw new Error(`${p} is short`);
  const readMs = performance.now() - t;
  t = performance.now();
  for (const p of paths) unlinkSync(p);
  return { writeMs, readMs, deleteMs: performance.now() - t };
}

async function main(): Promise<void> {
  const data = randomBytes(BYTES);
  const chunks: Buffer[] = [];
  for (let at = 0; at < BYTES; at += CHUNK) chunks.push(data.subarray(at, Math.min(BYTES, at + CHUNK)));
  const shm = mkdtempSync('/dev/shm/strata-bench-');
  const tmpfs = join(shm, 'tmpfs');
  const plain = join(shm, 'plain');
  try {
    mountTmpfs(tmpfs, FILES * BYTES * 2, { property: 'the benchmark', logger: silentLogger });
    mkdirSync(plain);
    const cases = [
      { name: '/dev/shm', dir: plain, rounds: [] as Round[] },
      { name: 'tmpfs, huge=within_size', dir: tmpfs, rounds: [] as Round[] },
    ];
    for (let i = 0; i < ROUNDS; i++) for (const c of cases) c.rounds.push(await round(c.dir, chunks));
    const mb = (FILES * BYTES) / 1e6;
    const rows: Row[] = [];
    for (const c of cases) {
      const write = c.rounds.map((r) => mb / (r.writeMs / 1000));
      const read = c.rounds.map((r) => mb / (r.readMs / 1000));
      const deleteMs = median(c.rounds.map((r) => r.deleteMs));
      rows.push({ name: `write, ${c.name}`, mbPerS: median(write), runs: write, note: `${median(c.rounds.map((r) => r.writeMs)).toFixed(0)} ms` });
      rows.push({ name: `read back, ${c.name}`, mbPerS: median(read), runs: read, note: `${median(c.rounds.map((r) => r.readMs)).toFixed(0)} ms` });
      rows.push({ name: `delete, ${c.name}`, mbPerS: mb / (deleteMs / 1000), runs: c.rounds.map((r) => mb / (r.deleteMs / 1000)), note: `${deleteMs.toFixed(0)} ms` });
    }
    printTable(`${FILES} cache files of ${BYTES} bytes in a memory tier's folder (alternating rounds)`, rows, 'write, /dev/shm');
    console.log(`\nresults: ${writeResults('memory-tier', { files: FILES, bytes: BYTES, rounds: ROUNDS, cases: cases.map(({ name, rounds }) => ({ name, rounds })), rows })}`);
  } finally {
    try {
      execFileSync('umount', [tmpfs], { stdio: 'pipe' });
    } catch {
      // Not mounted: the mount was refused and said why.
    }
    rmSync(shm, { recursive: true, force: true });
  }
}

await main();
