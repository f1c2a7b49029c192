/**
 * strata bench train-input through the real command at a tiny size, with the throttling proxy:
 * every mode and epoch has a row with positive numbers, cached epochs never reach the UFS, the
 * MUST_CACHE check passed, the markdown table is written, and nothing stays mounted, also when
 * the run is interrupted. Bad flags are refused with exit code 2 before anything starts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliEnv, mountsUnder } from '../helpers/cli.js';
import type { TrainInputResults } from '../../src/bench/train-input/results.js';

let env: CliEnv;
before(async () => {
  env = await CliEnv.create();
});
after(async () => {
  await env?.cleanup();
});

test('a tiny run: all rows, cached epochs off the UFS, MUST_CACHE kept out of the bucket', { timeout: 180_000 }, async () => {
  // Everything the run makes for itself (s3rver's folder, the cluster, the local copy) goes under
  // its TMPDIR, so that what it leaves behind, mounted or not, shows there.
  const scratch = join(env.dir, 'scratch');
  mkdirSync(scratch);
  const json = join(env.dir, 'results.json');
  const md = join(env.dir, 'results.md');
  const r = await env.run(['bench', 'train-input', '--count', '60', '--size', '20KB', '--classes', '3', '--readers', '4', '--epochs', '2', '--warm-up', '24', '--slow-ufs', 'latency=20ms,bandwidth=100MB/s', '--json', json, '--markdown', md], { env: { TMPDIR: scratch } });
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(readFileSync(json, 'utf8')) as TrainInputResults;

  assert.equal(res.dataset.files, 60);
  const modes = ['local disk', 'local disk, warm page cache', 'S3 SDK', 'S3 SDK, 64 in flight', 'Strata mount'];
  assert.deepEqual(res.rows.map((x) => `${x.mode}/${x.epoch}`), [1, 2].flatMap((e) => modes.map((m) => `${m}/${e}`)));
  for (const row of res.rows) {
    for (const k of ['seconds', 'mbPerS', 'imagesPerS'] as const) assert.ok(row[k] > 0, `${row.mode} epoch ${row.epoch}: ${k} = ${row[k]}`);
  }
  const strata = (epoch: number) => res.rows.find((x) => x.mode === 'Strata mount' && x.epoch === epoch)!;
  assert.ok(strata(1).ufsRequests! >= 60, `the cold epoch made ${strata(1).ufsRequests} UFS requests for 60 files`);
  assert.equal(strata(2).ufsRequests, 0, 'a cached epoch went to the UFS');
  // The cold epoch's UFS bytes came within it (the proxy and the readers read one clock), at a
  // rate the cap bounds (its burst and the answers' heads aside); a cached epoch has none.
  const t = strata(1).ufsTransfer!;
  assert.ok(t.firstByteMs >= 0 && t.firstByteMs < t.lastByteMs && t.lastByteMs <= strata(1).seconds * 1000 + 1, JSON.stringify(t));
  assert.ok(t.mbPerS > 0 && t.mbPerS < 2 * 100 * 1.048576, `UFS rate during the transfer: ${t.mbPerS} MB/s`);
  assert.equal(strata(2).ufsTransfer, undefined);
  assert.ok(res.goals.some((g) => g.goal.includes('the UFS while its bytes came') && g.value! > 0), JSON.stringify(res.goals));
  // By default the mount runs inside the worker's process: its CPU is the worker's.
  assert.equal(res.options.fuse, 'worker');
  assert.match(r.stdout, /the FUSE mount inside the worker's process/);
  const cpu = strata(1).daemonCpuSeconds!;
  assert.ok(cpu.masterWorker > 0 && cpu.fuse === 0, `Strata's CPU during the cold epoch: ${JSON.stringify(cpu)}`);
  // The UFS side's CPU and the machine's: the S3 server did the work of every epoch that read it.
  for (const row of res.rows) {
    // /proc/stat counts in 10 ms ticks: an epoch of a few milliseconds may see none pass, or
    // only idle ones.
    const busy = row.machineCpuBusy;
    if (row.seconds >= 0.1) assert.ok(busy! > 0 && busy! <= 1, `${row.mode} epoch ${row.epoch} (${row.seconds} s): machine CPU busy ${busy}`);
    else if (busy !== undefined) assert.ok(busy >= 0 && busy <= 1, `${row.mode} epoch ${row.epoch} (${row.seconds} s): machine CPU busy ${busy}`);
    const ufs = row.ufsCpuSeconds!;
    assert.ok(ufs.server >= 0 && ufs.proxy! >= 0, `${row.mode} epoch ${row.epoch}: UFS CPU ${JSON.stringify(ufs)}`);
  }
  // The cold epoch cost the master and worker API calls (the mount's fills, leases, listings); a
  // row read without the mount cost them none from it.
  const calls = (row: (typeof res.rows)[number]) => Object.values(row.strataRequests!).reduce((a, b) => a + b, 0);
  assert.ok(calls(strata(1)) > 0, `Strata API calls in the cold epoch: ${JSON.stringify(strata(1).strataRequests)}`);
  const sdkCpu = res.rows.filter((x) => x.mode.startsWith('S3 SDK') || x === strata(1)).reduce((n, x) => n + x.ufsCpuSeconds!.server, 0);
  assert.ok(sdkCpu > 0, `the S3 server used no CPU in the epochs that read it: ${sdkCpu}`);
  // The warm-up's files are read before the epochs and are not counted in them.
  assert.equal(res.options.warmUp, 24);
  assert.match(r.stderr, /warm-up: 24 other files read once through every mode/);
  for (const row of res.rows.filter((x) => x.mode.startsWith('S3 SDK'))) assert.equal(row.ufsRequests, 60, `${row.mode} epoch ${row.epoch}`);
  // Over a 20 ms round trip, 4 readers can fetch at most 200 files/s: the proxy's latency was
  // paid. (Not a bound for Strata: its folder prefetch has many more requests in flight.)
  for (const row of res.rows.filter((x) => x.mode === 'S3 SDK')) assert.ok(row.imagesPerS < 4 / 0.02, `SDK epoch at ${row.imagesPerS} images/s: the proxy's latency was not paid`);
  assert.ok(strata(1).seconds >= 0.02, `the cold epoch took ${strata(1).seconds} s, less than one round trip through the proxy`);

  assert.equal(res.mustCache.passed, true, res.mustCache.detail);
  assert.equal(res.mustCache.keysInBucket, 0);
  assert.equal(res.mustCache.notPersisted, res.mustCache.filesWritten);
  assert.ok(res.mustCache.datasetKeys > 0);
  const goals = res.goals.map((g) => g.goal);
  assert.ok(goals.some((g) => g.startsWith('cached epochs')) && goals.some((g) => g.startsWith('epoch 1 through the mount vs the UFS bandwidth')), goals.join('; '));
  for (const g of res.goals.filter((x) => x.value !== undefined)) assert.ok(g.value! > 0, g.goal);
  // Beside a miss of the bandwidth goal: how near the cap the UFS came for the SDK, in the same run.
  assert.match(res.goals.find((g) => g.goal === 'epoch 1 through the mount vs the UFS bandwidth')?.note ?? '', /; the SDK with 64 in flight reached \d+\.\d\dx$/);

  assert.match(r.stdout, /^Strata mount +2 +Strata cache /m);
  const markdown = readFileSync(md, 'utf8');
  assert.match(markdown, /^\| mode \| epoch \| read from \|/m);
  assert.match(markdown, /^\| MUST_CACHE intermediates \|.*\| passed \|$/m);
  assert.deepEqual(mountsUnder(env.dir), [], 'the run left a mount behind');
  assert.deepEqual(readdirSync(scratch), [], 'the run left files behind');
});

test('--fuse daemon: the mount is a daemon of its own, whose CPU is counted apart', { timeout: 180_000 }, async () => {
  const scratch = join(env.dir, 'scratch-daemon');
  mkdirSync(scratch);
  const json = join(env.dir, 'results-daemon.json');
  const r = await env.run(['bench', 'train-input', '--fuse', 'daemon', '--count', '40', '--size', '20KB', '--classes', '2', '--readers', '4', '--epochs', '1', '--warm-up', '0', '--json', json], { env: { TMPDIR: scratch } });
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(readFileSync(json, 'utf8')) as TrainInputResults;
  assert.equal(res.options.fuse, 'daemon');
  assert.match(r.stdout, /the FUSE mount a daemon of its own/);
  const cold = res.rows.find((x) => x.mode === 'Strata mount' && x.epoch === 1)!;
  assert.ok(cold.daemonCpuSeconds!.masterWorker > 0 && cold.daemonCpuSeconds!.fuse > 0, `Strata's CPU during the cold epoch: ${JSON.stringify(cold.daemonCpuSeconds)}`);
  assert.equal(res.mustCache.passed, true, res.mustCache.detail);
  assert.deepEqual(mountsUnder(env.dir), [], 'the run left a mount behind');
  assert.deepEqual(readdirSync(scratch), [], 'the run left files behind');
});

test('interrupted (SIGINT) once the mount is up, it unmounts and removes what it started', { timeout: 120_000 }, async () => {
  const scratch = join(env.dir, 'scratch-interrupted');
  mkdirSync(scratch);
  const child = env.spawnDaemon(['bench', 'train-input', '--count', '60', '--size', '20KB', '--classes', '3', '--slow-ufs', 'latency=20ms'], {}, { TMPDIR: scratch });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (/FUSE-mounted at/.test(stderr)) resolve();
    });
    void exited.then(() => reject(new Error(`the run ended before its mount was up: ${stderr}`)));
  });
  assert.equal(mountsUnder(scratch).length, 1, 'the mount is up');
  child.kill('SIGINT');
  const code = await exited;
  // Processes it failed to stop would hold the pipe open and keep this test waiting.
  child.stderr!.destroy();
  assert.equal(code, 130, stderr);
  assert.deepEqual(mountsUnder(env.dir), [], 'the run left a mount behind');
  assert.deepEqual(readdirSync(scratch), [], 'the run left files behind');
});

test('bad flags are refused, naming the flag, before anything starts', async () => {
  for (const [args, names] of [
    [['--slow-ufs', 'bandwidth=fast'], 'bandwidth'],
    [['--readers', '0'], '--readers'],
    [['--size', 'big'], '--size'],
    [['--epochs', 'two'], '--epochs'],
    [['--warm-up', 'some'], '--warm-up'],
    [['--fuse', 'elsewhere'], '--fuse'],
    [['--json', join(env.dir, 'no-such-folder', 'r.json')], '--json'],
  ] as const) {
    const r = await env.run(['bench', 'train-input', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stderr.includes(names), `${args.join(' ')}: ${r.stderr}`);
  }
});
