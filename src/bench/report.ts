/** Shared by benchmarks: medians, a printed table, and JSON results under bench/results/. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../common/native.js';

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface Row {
  name: string;
  mbPerS: number;
  runs: number[];
  note?: string;
}

export function printTable(title: string, rows: Row[], baseline: string): void {
  const base = rows.find((r) => r.name === baseline)?.mbPerS ?? 1;
  console.log(`\n${title}`);
  console.log(`${'case'.padEnd(48)}${'MB/s (median)'.padStart(15)}${`× ${baseline}`.padStart(28)}  runs`);
  for (const r of rows) {
    console.log(`${r.name.padEnd(48)}${r.mbPerS.toFixed(0).padStart(15)}${(r.mbPerS / base).toFixed(2).padStart(28)}  ${r.runs.map((x) => x.toFixed(0)).join(', ')}${r.note ? `  (${r.note})` : ''}`);
  }
}

/** bench/results/NAME-<date>.json, its folder made. */
export function resultsPath(name: string): string {
  const dir = join(packageRoot(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  return join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
}

export function writeResults(name: string, data: unknown): string {
  const file = resultsPath(name);
  writeFileSync(file, JSON.stringify(data, null, 2));
  return file;
}
