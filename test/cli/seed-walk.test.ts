/**
 * The seed walk without FUSE and S3, with real processes: strata local start, fs mkdir,
 * copyFromLocal of a 90 MB file under MUST_CACHE and CACHE_THROUGH, a file put straight into the
 * root UFS folder read with CACHE and NO_CACHE, fs free, then stop/start and kill -9/start
 * keeping the namespace, the mounts and the cached blocks.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliEnv, waitForExit } from '../helpers/cli.js';

let env: CliEnv;
let big: string;
let bigMd5: string;
const LS_LINE = /^([-d][-rwx]{9}) {2}(\S+)\s+(\S+)\s+(\d+)\s+(NOT_PERSISTED|TO_BE_PERSISTED|PERSISTED|LOST) (\d{2}-\d{2}-\d{4} \d{2}:\d{2}:\d{2}:\d{3})\s+(\d+%|DIR) (\/\S*)$/;

function lsEntries(stdout: string): Map<string, { size: number; state: string; cached: string; line: string }> {
  const out = new Map();
  for (const line of stdout.split('\n').filter(Boolean)) {
    const m = LS_LINE.exec(line);
    assert.ok(m, `ls line in Alluxio's format: ${JSON.stringify(line)}`);
    out.set(m[8], { size: Number(m[4]), state: m[5], cached: m[7], line });
  }
  return out;
}

before(async () => {
  env = await CliEnv.create();
  big = join(env.dir, 'inception-2015-12-05.tgz');
  const data = randomBytes(90 * 1000 * 1000);
  writeFileSync(big, data);
  bigMd5 = createHash('md5').update(data).digest('hex');
});
after(async () => {
  await env?.run(['local', 'stop']);
  await env?.cleanup();
});

test('strata local start gives a working cluster bound to loopback with a private token', async () => {
  const r = await env.run(['local', 'start']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Started Strata master and worker/);
  const token = join(env.workDir, 'token');
  assert.equal(statSync(token).mode & 0o777, 0o600);
  const again = await env.run(['local', 'start']);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /already running/);
  const report = await env.run(['fsadmin', 'report']);
  assert.equal(report.code, 0, report.stderr);
  assert.match(report.stdout, /Live Workers: 1/);
  assert.match(report.stdout, /Tier: MEM {2}Size: 512.00MB/);
  // The web port serves metrics without the token; the API refuses calls without it.
  const metrics = await fetch(`http://127.0.0.1:${env.props['strata.master.web.port']}/metrics`);
  assert.match(await metrics.text(), /strata_master_operations_total/);
  const api = await fetch(`http://127.0.0.1:${env.props['strata.master.rpc.port']}/api/v1/list?path=/`);
  assert.equal(api.status, 401);
});

test('copyFromLocal of a 90 MB file: NOT_PERSISTED 100% under MUST_CACHE, PERSISTED 100% under CACHE_THROUGH', async () => {
  assert.equal((await env.run(['fs', 'mkdir', '/training-data'])).stdout.trim(), 'Successfully created directory /training-data');
  const mc = await env.run(['fs', 'copyFromLocal', big, '/training-data/models/', '--conf', 'alluxio.user.file.writetype.default=MUST_CACHE']);
  assert.equal(mc.code, 0, mc.stderr);
  assert.match(mc.stdout, /Copied file:\/\/.*inception-2015-12-05.tgz to \/training-data\/models\/inception-2015-12-05.tgz/);
  const ct = await env.run(['fs', 'copyFromLocal', big, '/training-data/through.tgz', '--conf', 'strata.user.file.writetype.default=CACHE_THROUGH']);
  assert.equal(ct.code, 0, ct.stderr);
  const ls = lsEntries((await env.run(['fs', 'ls', '-R', '/training-data'])).stdout);
  const m = ls.get('/training-data/models/inception-2015-12-05.tgz')!;
  assert.deepEqual([m.size, m.state, m.cached], [90_000_000, 'NOT_PERSISTED', '100%']);
  const t = ls.get('/training-data/through.tgz')!;
  assert.deepEqual([t.size, t.state, t.cached], [90_000_000, 'PERSISTED', '100%']);
  assert.equal(ls.get('/training-data/models')!.cached, 'DIR');
  assert.ok(!existsSync(join(env.ufsRoot, 'training-data', 'models', 'inception-2015-12-05.tgz')));
  assert.equal(createHash('md5').update(readFileSync(join(env.ufsRoot, 'training-data', 'through.tgz'))).digest('hex'), bigMd5);
  const sum = await env.run(['fs', 'checksum', '/training-data/models/inception-2015-12-05.tgz']);
  assert.equal(sum.stdout.trim(), `md5sum: ${bigMd5}`);
});

test('a file put into the root UFS folder: PERSISTED 0%, 100% after cat under CACHE, 0% under NO_CACHE, 0% again after free', async () => {
  mkdirSync(join(env.ufsRoot, 'direct'), { recursive: true });
  const data = randomBytes(3_000_000);
  writeFileSync(join(env.ufsRoot, 'direct', 'cached.bin'), data);
  writeFileSync(join(env.ufsRoot, 'direct', 'uncached.bin'), data);
  let ls = lsEntries((await env.run(['fs', 'ls', '/direct'])).stdout);
  assert.deepEqual([ls.get('/direct/cached.bin')!.state, ls.get('/direct/cached.bin')!.cached], ['PERSISTED', '0%']);
  const cat = await env.run(['fs', 'cat', '/direct/cached.bin', '--conf', 'alluxio.user.file.readtype.default=CACHE']);
  assert.equal(cat.code, 0, cat.stderr);
  assert.equal(cat.stdout.length, 0 + Buffer.from(cat.stdout, 'binary').length);
  const nocache = await env.run(['fs', 'cat', '/direct/uncached.bin', '--conf', 'alluxio.user.file.readtype.default=NO_CACHE']);
  assert.equal(nocache.code, 0, nocache.stderr);
  ls = lsEntries((await env.run(['fs', 'ls', '/direct'])).stdout);
  assert.equal(ls.get('/direct/cached.bin')!.cached, '100%');
  assert.equal(ls.get('/direct/uncached.bin')!.cached, '0%');
  const free = await env.run(['fs', 'free', '/direct/cached.bin']);
  assert.equal(free.code, 0, free.stderr);
  ls = lsEntries((await env.run(['fs', 'ls', '/direct'])).stdout);
  assert.equal(ls.get('/direct/cached.bin')!.cached, '0%');
  // A later file only shows with -f (metadata loaded once by default, as Alluxio does).
  writeFileSync(join(env.ufsRoot, 'direct', 'later.bin'), 'later');
  assert.ok(!lsEntries((await env.run(['fs', 'ls', '/direct'])).stdout).has('/direct/later.bin'));
  assert.ok(lsEntries((await env.run(['fs', 'ls', '-f', '/direct'])).stdout).has('/direct/later.bin'));
});

test('stop/start and kill -9/start keep the namespace, the mounts and the cached blocks', async () => {
  const ext = join(env.dir, 'ext-ufs');
  mkdirSync(ext);
  writeFileSync(join(ext, 'x.txt'), 'external');
  assert.equal((await env.run(['fs', 'mount', '/training-data/ext', ext, '--option', 'aws.secretKey=hidden'])).code, 0);
  const before = (await env.run(['fs', 'ls', '-R', '/'])).stdout;
  for (const how of ['stop', 'kill -9'] as const) {
    if (how === 'stop') {
      assert.match((await env.run(['local', 'stop'])).stdout, /Stopped Strata/);
    } else {
      const pid = env.localPid()!;
      process.kill(pid, 'SIGKILL');
      await waitForExit(pid);
    }
    const down = await env.run(['fs', 'ls', '/']);
    assert.equal(down.code, 9, `master down gives UNAVAILABLE: ${down.stderr}`);
    assert.match(down.stderr, /master at http:\/\/localhost:\d+ is unavailable/);
    assert.ok(down.ms < 5000, `answered in ${down.ms} ms`);
    const start = await env.run(['local', 'start']);
    assert.equal(start.code, 0, start.stderr);
    const after = (await env.run(['fs', 'ls', '-R', '/'])).stdout;
    assert.equal(after, before, `namespace and cache state after ${how}`);
    const mounts = await env.run(['fs', 'mount']);
    assert.match(mounts.stdout, /on {2}\/training-data\/ext .*aws\.secretKey=\*\*\*\*\*\*/);
    assert.doesNotMatch(mounts.stdout, /hidden/);
    const sum = await env.run(['fs', 'checksum', '/training-data/models/inception-2015-12-05.tgz']);
    assert.equal(sum.stdout.trim(), `md5sum: ${bigMd5}`, 'MUST_CACHE file read back from the cache after restart');
    assert.equal((await env.run(['fs', 'cat', '/training-data/ext/x.txt', '--conf', 'strata.user.file.readtype.default=NO_CACHE'])).stdout, 'external');
  }
});
