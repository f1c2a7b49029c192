/**
 * The mount inside the worker's process (strata.worker.fuse.enabled): `local start` mounts it,
 * its cold reads reach the worker in process (no HTTP request), it reads and writes as a
 * daemon's mount does, `fuse stat` lists it, `fuse umount` unmounts it while the worker serves
 * on, `local stop` unmounts it, and a mount point in use stops `local start` with an error that
 * names it and nothing left running. A cluster worker (`strata worker`) mounts the same way,
 * waiting for a master not up yet, and calls its master over HTTP.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requestsServed } from '../../src/bench/rpc-requests.js';
import { CliEnv, freePort, waitForExit } from '../helpers/cli.js';
import { eventually } from '../helpers/cluster.js';
import { FuseEnv } from '../helpers/fuse.js';

let f: FuseEnv;
before(async () => {
  f = await FuseEnv.create({ inWorker: true, props: { 'strata.user.file.writetype.default': 'MUST_CACHE' } });
});
after(async () => {
  await f?.cleanup();
});

const isMounted = (p: string) => readFileSync('/proc/mounts', 'utf8').includes(` ${p} `);

/** All requests the role with this web port has served over `transport`, whatever the route. */
async function callsServed(webPort: number, transport: 'http' | 'in-process'): Promise<number> {
  return [...((await requestsServed([webPort], transport))?.values() ?? [])].reduce((a, b) => a + b, 0);
}

const workerCalls = (transport: 'http' | 'in-process') => callsServed(Number(f.env.props['strata.worker.web.port']), transport);

test('local start mounts the root in the worker, and fuse stat lists the worker as its process', async () => {
  assert.ok(isMounted(f.mnt), `${f.mnt} is not mounted`);
  const stat = await f.env.run(['fuse', 'stat']);
  assert.equal(stat.code, 0, stat.stderr);
  assert.match(stat.stdout, new RegExp(`^${f.env.localPid()}\\t${f.mnt}\\t/$`, 'm'));
});

test('cold reads through the mount call the worker in process, without an HTTP request', async () => {
  // Files put straight into the root's UFS folder: Strata has cached none of them.
  const files = Array.from({ length: 12 }, (_, i) => ({ name: `cold-${i}.bin`, data: Buffer.alloc(200_000 + i, i + 1) }));
  mkdirSync(join(f.env.ufsRoot, 'cold'), { recursive: true });
  for (const x of files) writeFileSync(join(f.env.ufsRoot, 'cold', x.name), x.data);
  const httpBefore = await workerCalls('http');
  const inProcessBefore = await workerCalls('in-process');
  for (const x of files) assert.deepEqual(readFileSync(f.path(`cold/${x.name}`)), x.data, x.name);
  assert.equal((await workerCalls('http')) - httpBefore, 0, 'the mount called its own worker over HTTP');
  assert.ok((await workerCalls('in-process')) - inProcessBefore >= 1, 'the cold reads made no call to the worker');
  const ls = await f.env.run(['fs', 'ls', '/cold']);
  assert.equal(ls.code, 0, ls.stderr);
  assert.equal(ls.stdout.match(/ 100% /g)?.length, files.length, `every file read is cached:\n${ls.stdout}`);
});

test('a file written through the mount is in Strata with the mount\'s write type', async () => {
  mkdirSync(f.path('out'));
  writeFileSync(f.path('out/model.ckpt'), 'weights-1');
  const cat = await f.env.run(['fs', 'cat', '/out/model.ckpt']);
  assert.equal(cat.code, 0, cat.stderr);
  assert.equal(cat.stdout, 'weights-1');
  assert.match((await f.env.run(['fs', 'ls', '/out'])).stdout, /NOT_PERSISTED .*\/out\/model\.ckpt/);
  assert.equal(existsSync(join(f.env.ufsRoot, 'out', 'model.ckpt')), false, 'a MUST_CACHE file reached the UFS');
});

test('fuse umount unmounts it and the worker serves on; local stop unmounts it', async () => {
  const umount = await f.env.run(['fuse', 'umount', f.mnt]);
  assert.equal(umount.code, 0, umount.stderr);
  assert.equal(isMounted(f.mnt), false);
  assert.match((await f.env.run(['fuse', 'stat'])).stdout, /No mount point found/);
  const cat = await f.env.run(['fs', 'cat', '/out/model.ckpt']);
  assert.equal(cat.code, 0, cat.stderr);
  assert.equal(cat.stdout, 'weights-1');

  assert.equal((await f.env.run(['local', 'stop'])).code, 0);
  const start = await f.env.run(['local', 'start']);
  assert.equal(start.code, 0, start.stderr);
  assert.match(start.stdout, new RegExp(`/ mounted at ${f.mnt}`));
  assert.equal(readFileSync(f.path('out/model.ckpt'), 'utf8'), 'weights-1');
  assert.equal((await f.env.run(['local', 'stop'])).code, 0);
  assert.equal(isMounted(f.mnt), false, 'local stop left the mount');
});

test('a mount point in use: local start fails naming it, and leaves nothing running', async () => {
  const env = await CliEnv.create();
  try {
    const busy = join(env.dir, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'someone-elses.txt'), 'x');
    Object.assign(env.props, { 'alluxio.worker.fuse.enabled': 'true', 'alluxio.worker.fuse.mount.point': busy });
    env.writeConf();
    const start = await env.run(['local', 'start']);
    assert.notEqual(start.code, 0);
    assert.match(start.stderr, new RegExp(`Mount point ${busy} is not empty`));
    assert.equal(env.localPid(), undefined, 'a local process is left running');
    assert.equal(readFileSync(join(busy, 'someone-elses.txt'), 'utf8'), 'x');
    assert.match((await env.run(['fs', 'ls', '/'])).stderr, /unavailable/i);
  } finally {
    await env.run(['local', 'stop']);
    await env.cleanup();
  }
});

test('strata worker of a cluster, started before its master, mounts in its process once the master answers: the master over HTTP, the worker in process', { timeout: 60_000 }, async () => {
  const env = await CliEnv.create({ 'strata.security.token': 'cluster-secret' });
  const mnt = join(env.dir, 'worker-mnt');
  try {
    const webPort = await freePort();
    const worker = env.spawnDaemon(['worker'], {
      'strata.worker.web.port': webPort,
      'strata.worker.fuse.enabled': 'true',
      'strata.worker.fuse.mount.point': mnt,
    });
    // The worker is up (its metrics answer) while no master is: its mount must wait, not fail.
    await eventually(async () => (await fetch(`http://127.0.0.1:${webPort}/metrics`).then((r) => r.ok).catch(() => false)), 20_000, "the worker's web port");
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(worker.exitCode, null, 'the worker exited while its master was not up');
    env.spawnDaemon(['master']);
    await eventually(async () => (await env.run(['fuse', 'stat'])).stdout.includes(`${worker.pid}\t${mnt}\t/`), 20_000, "the worker's mount");
    mkdirSync(join(env.ufsRoot, 'data'), { recursive: true });
    writeFileSync(join(env.ufsRoot, 'data', 'x.bin'), Buffer.alloc(300_000, 7));
    const masterWeb = Number(env.props['strata.master.web.port']);
    const before = { workerHttp: await callsServed(webPort, 'http'), workerLocal: await callsServed(webPort, 'in-process'), master: await callsServed(masterWeb, 'http') };
    assert.deepEqual(readFileSync(join(mnt, 'data', 'x.bin')), Buffer.alloc(300_000, 7));
    assert.equal((await callsServed(webPort, 'http')) - before.workerHttp, 0, 'the mount called its worker over HTTP');
    assert.ok((await callsServed(webPort, 'in-process')) > before.workerLocal, 'the mount made no call to its worker');
    assert.ok((await callsServed(masterWeb, 'http')) > before.master, 'the mount did not ask the master, over HTTP, for the file');
    worker.kill('SIGTERM');
    await waitForExit(worker.pid!, 15_000);
    assert.equal(isMounted(mnt), false, 'the stopped worker left its mount');
  } finally {
    await env.cleanup();
  }
});
