/**
 * The results as a table, one row per epoch plus the MUST_CACHE check, then the goals: the same
 * cells printed as plain text (padded columns) or as markdown.
 */
import { describeSlowUfs } from '../slow-ufs.js';
import { MODES, localDiskSeconds, sdkMBps, type TrainInputResults } from './results.js';

const HEADER = ['mode', 'epoch', 'read from', 'seconds', 'MB/s', 'images/s', 'UFS requests', 'Strata CPU ms/file', 'CPU busy %', 'x local disk time', 'x UFS bandwidth', 'x SDK MB/s'];

const fixed = (v: number | undefined, digits: number): string => (v === undefined || !Number.isFinite(v) ? '' : v.toFixed(digits));

function cells(r: TrainInputResults): string[][] {
  const disk = localDiskSeconds(r.rows);
  const sdk = sdkMBps(r.rows);
  const cap = r.slowUfs && Number.isFinite(r.slowUfs.bytesPerSecond) ? r.slowUfs.bytesPerSecond / 1e6 : undefined;
  const rows = r.rows.map((row) => {
    const readsUfs = row.source.startsWith('UFS');
    return [
      row.mode,
      String(row.epoch),
      row.source,
      fixed(row.seconds, 2),
      fixed(row.mbPerS, 1),
      fixed(row.imagesPerS, 0),
      row.ufsRequests === undefined ? '' : String(row.ufsRequests),
      fixed(row.mode === MODES.strata && row.daemonCpuSeconds ? ((row.daemonCpuSeconds.masterWorker + row.daemonCpuSeconds.fuse) * 1000) / r.dataset.files : undefined, 2),
      fixed(row.machineCpuBusy === undefined ? undefined : row.machineCpuBusy * 100, 0),
      fixed(disk ? row.seconds / disk : undefined, 2),
      fixed(readsUfs && cap ? row.mbPerS / cap : undefined, 2),
      fixed(row.mode === MODES.strata && readsUfs && sdk ? row.mbPerS / sdk : undefined, 2),
    ];
  });
  const m = r.mustCache;
  rows.push(['MUST_CACHE intermediates', '', `${m.filesWritten} files written`, '', '', '', String(m.keysInBucket), '', '', '', '', m.passed ? 'passed' : 'FAILED']);
  return [HEADER, ...rows];
}

function title(r: TrainInputResults): string {
  const slow = r.slowUfs ? `UFS through a proxy: ${describeSlowUfs(r.slowUfs)}` : 'UFS: s3rver on loopback, no proxy';
  // Results from before --fuse had the mount as a daemon.
  const o = r.options as { readers: number; decode: boolean; warmUp?: number; fuse?: string };
  return `Training input: ${r.dataset.files} x ${(r.dataset.meanFileBytes / 1e3).toFixed(0)} KB images, ${o.readers} readers, ${o.decode ? 'with' : 'without'} PNG decode; ${o.fuse === 'worker' ? "the FUSE mount inside the worker's process" : 'the FUSE mount a daemon of its own'}; ${slow}; ${r.pageCache}; ${o.warmUp ? `${o.warmUp} other files read once through every mode first (a warm cluster)` : 'a freshly started cluster'}. MB = 10^6 B.`;
}

function goalLines(r: TrainInputResults): string[] {
  return r.goals.map((g) => {
    const verdict = g.met === undefined ? '' : g.met ? ' MET' : ' MISSED';
    const value = g.value === undefined ? '' : `${g.value.toFixed(2)}x `;
    return `${g.goal}: ${value}(goal ${g.target})${verdict}${g.note ? ` — ${g.note}` : ''}`;
  });
}

export function textTable(r: TrainInputResults): string {
  const grid = cells(r);
  const widths = HEADER.map((_, c) => Math.max(...grid.map((row) => row[c]!.length)));
  const line = (row: string[]) => row.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [title(r), '', ...grid.map(line), '', `listing through the mount (cold): ${r.listing.files} files in ${r.listing.seconds.toFixed(2)} s`, ...goalLines(r)].join('\n');
}

export function markdownTable(r: TrainInputResults): string {
  const grid = cells(r);
  const row = (cs: string[]) => `| ${cs.join(' | ')} |`;
  return [
    `### ${title(r)}`,
    '',
    row(grid[0]!),
    row(grid[0]!.map((_, c) => (c < 3 ? '---' : '---:'))),
    ...grid.slice(1).map(row),
    '',
    `Listing through the mount (cold): ${r.listing.files} files in ${r.listing.seconds.toFixed(2)} s.`,
    '',
    ...goalLines(r).map((l) => `- ${l}`),
    '',
  ].join('\n');
}
