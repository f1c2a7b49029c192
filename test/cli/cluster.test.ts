/**
 * A cluster of separate processes on one machine: one master and two workers with their own
 * ports and dirs. Both register, both store and serve blocks; a worker killed with SIGKILL in
 * the middle of a read makes the read go on from the UFS when the file is persisted, and fail
 * clearly when it is not.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Configuration } from '../../src/common/config/configuration.js';
import { StrataError } from '../../src/common/errors.js';
import { FileSystem } from '../../src/client/file-system.js';
import { CliEnv, freePort } from '../helpers/cli.js';
import { eventually, writeFile } from '../helpers/cluster.js';

let env: CliEnv;
let fs: FileSystem;
const workers: Array<{ port: number; proc: ChildProcess }> = [];

before(async () => {
  env = await CliEnv.create({ 'strata.security.token': 'cluster-secret', 'strata.user.block.size.bytes.default': '1MB', 'strata.master.worker.timeout': '2s' });
  env.spawnDaemon(['master']);
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    const proc = env.spawnDaemon(['worker'], {
      'strata.worker.rpc.port': port,
      'strata.worker.web.port': await freePort(),
      'strata.worker.tieredstore.level0.dirs.path': join(env.shm, `worker${i}`),
      'strata.worker.index.dir': join(env.dir, `worker${i}-index`),
    });
    workers.push({ port, proc });
  }
  const conf = Configuration.load({ confDir: env.confDir, env: {} }).with({ 'strata.user.short.circuit.enabled': 'false' });
  fs = new FileSystem(conf);
  await eventually(async () => (await fs.listWorkers().catch(() => [])).filter((w) => w.state === 'LIVE').length === 2, 20_000, 'two workers');
});
after(async () => {
  await fs?.close();
  await env?.cleanup();
});

test('two workers on one machine both register, store and serve blocks', async () => {
  const report = await env.run(['fsadmin', 'report']);
  assert.match(report.stdout, /Live Workers: 2/);
  const owners = new Set<number>();
  const files: Array<[string, Buffer]> = [];
  for (let i = 0; i < 4; i++) {
    const data = randomBytes(1_500_000 + i);
    await writeFile(fs, `/spread/f${i}`, data, 'MUST_CACHE');
    files.push([`/spread/f${i}`, data]);
    const info = await fs.getStatus(`/spread/f${i}`, { blocks: true });
    const ports = new Set(info.blocks!.flatMap((b) => b.locations.map((l) => l.address.rpcPort)));
    assert.equal(ports.size, 1, 'one file stays on one worker');
    owners.add([...ports][0]!);
  }
  assert.deepEqual([...owners].sort(), workers.map((w) => w.port).sort(), 'both workers hold files');
  for (const [path, data] of files) {
    const r = await env.run(['fs', 'cat', path, '--conf', 'strata.user.short.circuit.enabled=false']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(Buffer.from(r.stdout, 'latin1').length > 0, true);
    const s = await fs.openFile(path);
    const buf = Buffer.alloc(data.length);
    assert.equal(await s.read(buf, 0), data.length);
    await s.close();
    assert.ok(buf.equals(data));
  }
});

async function readHalfThenKill(path: string, data: Buffer): Promise<{ stream: Awaited<ReturnType<FileSystem['openFile']>>; killed: number }> {
  const stream = await fs.openFile(path);
  const first = Buffer.alloc(1_000_000);
  assert.equal(await stream.read(first, 0), first.length);
  assert.ok(first.equals(data.subarray(0, first.length)));
  const port = stream.info.blocks![0]!.locations[0]!.address.rpcPort;
  const victim = workers.find((w) => w.port === port)!;
  victim.proc.kill('SIGKILL');
  await new Promise((r) => victim.proc.once('exit', r));
  return { stream, killed: port };
}

test('a worker killed mid-read: a persisted file is read on from the UFS through the other worker', async () => {
  const data = randomBytes(6_000_000);
  await writeFile(fs, '/failover/persisted.bin', data, 'CACHE_THROUGH');
  const { stream } = await readHalfThenKill('/failover/persisted.bin', data);
  const rest = Buffer.alloc(data.length - 1_000_000);
  let done = 0;
  while (done < rest.length) done += await stream.read(rest.subarray(done), 1_000_000 + done);
  await stream.close();
  assert.ok(rest.equals(data.subarray(1_000_000)));
});

test('a worker killed mid-read: a file that was never persisted fails clearly', async () => {
  const live = workers.filter((w) => w.proc.exitCode === null && w.proc.signalCode === null);
  assert.equal(live.length, 1);
  const data = randomBytes(4_000_000);
  await writeFile(fs, '/failover/cached-only.bin', data, 'MUST_CACHE');
  const { stream } = await readHalfThenKill('/failover/cached-only.bin', data);
  await assert.rejects(stream.read(Buffer.alloc(2_000_000), 2_000_000), (e: unknown) => {
    assert.ok(e instanceof StrataError);
    assert.equal(e.code, 'UNAVAILABLE');
    assert.match(e.message, /cached-only\.bin/);
    assert.match(e.message, /NOT_PERSISTED/);
    return true;
  });
  await stream.close();
});

test('workers that stop heartbeating are marked lost and their block locations dropped', async () => {
  await eventually(async () => /Lost Workers: 2/.test((await env.run(['fsadmin', 'report'])).stdout), 10_000, 'both workers lost');
  const info = await fs.getStatus('/spread/f0');
  assert.equal(info.inAlluxioPercentage, 0);
  const report = await env.run(['fsadmin', 'report']);
  assert.match(report.stdout, /Live Workers: 0/);
  assert.match(report.stdout, /LOST/);
});
