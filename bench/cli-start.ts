/**
 * How long a shell command takes, start to exit, against a running `strata local`: what a script
 * that calls `strata fs ...` per file waits for each time (the test suites run hundreds). Each
 * command runs ROUNDS times, the commands taking turns, beside `node -e 0` (what any Node.js
 * program costs here); `--against DIR` runs DIR/bin/strata (another build, say a checkout of an
 * earlier commit, built) in the same turns, for a side-by-side ratio.
 *   npm run build && node dist/bench/cli-start.js [--rounds N] [--against DIR]
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CliEnv } from '../src/bench/cli-env.js';
import { median, writeResults } from './report.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '15' }, against: { type: 'string' } } });
const ROUNDS = Number(values.rounds);
const AGAINST = values.against === undefined ? undefined : join(resolve(values.against), 'bin', 'strata');

const COMMANDS: Array<{ name: string; args: (round: number) => string[] }> = [
  { name: 'strata --help', args: () => ['--help'] },
  { name: 'strata fs ls /data', args: () => ['fs', 'ls', '/data'] },
  { name: 'strata fs cat /data/small.txt', args: () => ['fs', 'cat', '/data/small.txt'] },
  { name: 'strata fs stat /data/small.txt', args: () => ['fs', 'stat', '/data/small.txt'] },
  { name: 'strata fs mkdir /made/N', args: (round) => ['fs', 'mkdir', `/made/${round}`] },
];

function nodeFloor(): Promise<number> {
  const t = performance.now();
  return new Promise((done, fail) => execFile(process.execPath, ['-e', '0'], (err) => (err ? fail(err) : done(performance.now() - t))));
}

async function main(): Promise<void> {
  const env = await CliEnv.create();
  try {
    mkdirSync(join(env.ufsRoot, 'data'), { recursive: true });
    writeFileSync(join(env.ufsRoot, 'data', 'small.txt'), 'a small file\n');
    const started = await env.run(['local', 'start']);
    if (started.code !== 0) throw new Error(`local start failed: ${started.stderr}`);
    const builds = AGAINST ? [{ label: 'this build', bin: undefined }, { label: 'against', bin: AGAINST }] : [{ label: 'this build', bin: undefined }];
    const times = new Map<string, number[]>();
    const add = (key: string, ms: number) => times.set(key, [...(times.get(key) ?? []), ms]);
    for (let round = 0; round < ROUNDS; round++) {
      add('node -e 0', await nodeFloor());
      for (const c of COMMANDS) {
        for (const b of builds) {
          const r = await env.run(c.args(round + (b.bin ? ROUNDS : 0)), { bin: b.bin });
          if (r.code !== 0) throw new Error(`${c.name} (${b.label}) exited ${r.code}: ${r.stderr.trim()}`);
          add(`${c.name}|${b.label}`, r.ms);
        }
      }
    }
    const floor = median(times.get('node -e 0')!);
    console.log(`\nshell commands against strata local, start to exit: median of ${ROUNDS} alternating runs (ms)`);
    const head = ['command', 'this build', 'x node -e 0', ...(AGAINST ? ['against', 'this / against'] : [])];
    console.log(`${head[0]!.padEnd(34)}${head.slice(1).map((h) => h.padStart(16)).join('')}`);
    console.log(`${'node -e 0'.padEnd(34)}${floor.toFixed(0).padStart(16)}${'1.00'.padStart(16)}`);
    const rows = COMMANDS.map((c) => {
      const mine = median(times.get(`${c.name}|this build`)!);
      const other = AGAINST ? median(times.get(`${c.name}|against`)!) : undefined;
      const cells = [mine.toFixed(0), (mine / floor).toFixed(2), ...(other === undefined ? [] : [other.toFixed(0), (mine / other).toFixed(2)])];
      console.log(`${c.name.padEnd(34)}${cells.map((x) => x.padStart(16)).join('')}`);
      return { command: c.name, medianMs: mine, againstMedianMs: other };
    });
    console.log(`\nresults: ${writeResults('cli-start', { rounds: ROUNDS, against: AGAINST, nodeFloorMs: floor, rows, runs: Object.fromEntries(times) })}`);
  } finally {
    await env.run(['local', 'stop']);
    await env.cleanup();
  }
}

await main();
