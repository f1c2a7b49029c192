/** Bad input through the real command: a clear message naming what was wrong, an exit code by kind, nothing lost. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliEnv } from '../helpers/cli.js';

let env: CliEnv;
before(async () => {
  env = await CliEnv.create();
  const r = await env.run(['local', 'start']);
  assert.equal(r.code, 0, r.stderr);
  await env.run(['fs', 'mkdir', '/data']);
  await env.run(['fs', 'copyFromLocal', join(env.confDir, 'strata-site.properties'), '/data/file', '--conf', 'strata.user.file.writetype.default=CACHE_THROUGH']);
});
after(async () => {
  await env?.run(['local', 'stop']);
  await env?.cleanup();
});

const cases: Array<[string, string[], number, RegExp]> = [
  ['a relative path', ['fs', 'ls', 'data'], 2, /Path data is not absolute/],
  ['a path that climbs with ..', ['fs', 'mkdir', '/data/../etc'], 2, /climbs with "\.\."/],
  ['mkdir over a file', ['fs', 'mkdir', '/data/file'], 4, /\/data\/file: a file exists there/],
  ['copyFromLocal of a missing local file', ['fs', 'copyFromLocal', '/no/such/local/file', '/data/x'], 3, /\/no\/such\/local\/file/],
  ['rm of a folder without -R', ['fs', 'rm', '/data'], 2, /\/data is a directory/],
  ['a missing path', ['fs', 'cat', '/data/nothing'], 3, /Path \/data\/nothing does not exist/],
  ['mount of a missing UFS folder', ['fs', 'mount', '/m', '/no/such/ufs/dir'], 3, /UFS folder does not exist/],
  ['an unknown option', ['fs', 'ls', '--bogus', '/'], 2, /unknown option '--bogus'/],
  ['an unknown sort key', ['fs', 'ls', '--sort', 'color', '/'], 2, /Unknown sort key color/],
  ['a bad property value', ['fs', 'ls', '/', '--conf', 'strata.user.file.readtype.default=FAST'], 2, /strata\.user\.file\.readtype\.default.*NO_CACHE, CACHE, CACHE_PROMOTE/],
  ['a bad mode', ['fs', 'chmod', '999', '/data/file'], 2, /not octal/],
  ['a bad TTL action', ['fs', 'setTtl', '--action', 'explode', '/data/file', '10s'], 2, /free or delete/],
  ['a bad load thread count', ['fs', 'load', '--thread', '0', '/data'], 2, /--thread must be a positive integer, got 0/],
];

for (const [what, args, code, message] of cases) {
  test(`bad input: ${what}`, async () => {
    const r = await env.run(args);
    assert.equal(r.code, code, `exit code for ${what}: ${r.stderr}`);
    assert.match(r.stderr, message);
  });
}

test('bad input: rm of a non-empty folder with the API refused; nothing lost', async () => {
  const r = await env.run(['fs', 'rm', '/data']);
  assert.notEqual(r.code, 0);
  const ls = await env.run(['fs', 'ls', '/data']);
  assert.match(ls.stdout, /\/data\/file/);
});

test('bad input: mount over a non-empty path, mv across mounts', async () => {
  const ufs = join(env.dir, 'other-ufs');
  mkdirSync(ufs);
  writeFileSync(join(ufs, 'o.txt'), 'other');
  const over = await env.run(['fs', 'mount', '/data', ufs]);
  assert.equal(over.code, 4, over.stderr);
  assert.match(over.stderr, /Cannot mount at \/data: the folder is not empty/);
  assert.equal((await env.run(['fs', 'mount', '/other', ufs])).code, 0);
  const mv = await env.run(['fs', 'mv', '/other/o.txt', '/data/o.txt']);
  assert.equal(mv.code, 2, mv.stderr);
  assert.match(mv.stderr, /different mounts/);
  assert.equal((await env.run(['fs', 'cat', '/other/o.txt'])).stdout, 'other');
});

test('conf get and list show values and where they came from', async () => {
  const port = await env.run(['conf', 'get', 'alluxio.master.rpc.port', '--source']);
  assert.equal(port.stdout.trim(), `${env.props['strata.master.rpc.port']} (site)`);
  const cli = await env.run(['conf', 'get', 'strata.user.block.size.bytes.default', '--source', '--conf', 'strata.user.block.size.bytes.default=32MB']);
  assert.equal(cli.stdout.trim(), '32MB (cli)');
  const list = await env.run(['conf', 'list']);
  assert.match(list.stdout, /^strata\.user\.file\.writetype\.default=ASYNC_THROUGH \(default\)$/m);
  const unknown = await env.run(['conf', 'get', 'strata.nope']);
  assert.equal(unknown.code, 2);
});

test('the shell commands work end to end', async () => {
  const run = async (...args: string[]) => {
    const r = await env.run(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  await run('fs', 'touch', '/shell/empty');
  assert.equal((await env.run(['fs', 'test', '-z', '/shell/empty'])).code, 0);
  assert.equal((await env.run(['fs', 'test', '-d', '/shell/empty'])).code, 1);
  assert.equal((await env.run(['fs', 'test', '-e', '/shell/nothing'])).code, 1);
  const local = join(env.dir, 'hello.txt');
  writeFileSync(local, '0123456789abcdef');
  await run('fs', 'copyFromLocal', local, '/shell/hello.txt');
  assert.equal(await run('fs', 'head', '-c', '4', '/shell/hello.txt'), '0123');
  assert.equal(await run('fs', 'tail', '-c', '6', '/shell/hello.txt'), 'abcdef');
  await run('fs', 'cp', '-R', '/shell', '/shell2');
  assert.equal(await run('fs', 'cat', '/shell2/hello.txt'), '0123456789abcdef');
  assert.match(await run('fs', 'stat', '-f', '%N %z %u', '/shell2/hello.txt'), /^hello\.txt 16 \S+\n$/);
  assert.match(await run('fs', 'du', '-s', '/shell2'), /^File Size\s+In Strata\s+Path\n16\s+16 \(100%\)\s+\/shell2\n$/);
  assert.match(await run('fs', 'count', '/shell2'), /\n2\s+1\s+16\n$/);
  assert.match(await run('fs', 'location', '/shell2/hello.txt'), /is on nodes: \nlocalhost:\d+\n/);
  await run('fs', 'chmod', '600', '/shell2/hello.txt');
  assert.match(await run('fs', 'ls', '/shell2/hello.txt'), /^-rw------- /);
  await run('fs', 'pin', '/shell2/hello.txt');
  assert.match(await run('fs', 'ls', '-p', '/shell2'), /hello\.txt/);
  await run('fs', 'unpin', '/shell2/hello.txt');
  assert.equal(await run('fs', 'ls', '-p', '/shell2'), '');
  await run('fs', 'setTtl', '/shell2/hello.txt', '1h');
  await run('fs', 'unsetTtl', '/shell2/hello.txt');
  await run('fs', 'mv', '/shell2/hello.txt', '/shell2/renamed.txt');
  const out = join(env.dir, 'out');
  await run('fs', 'copyToLocal', '/shell2', out);
  assert.equal((await import('node:fs')).readFileSync(join(out, 'renamed.txt'), 'utf8'), '0123456789abcdef');
  await run('fs', 'rm', '-R', '/shell2');
  assert.equal((await env.run(['fs', 'test', '-e', '/shell2'])).code, 1);
  assert.match(await run('fs', 'ls', '-h', '/data'), /\d+(\.\d+)?[KMG]?B? /);
  await run('fs', 'persist', '/shell/hello.txt');
  await run('fs', 'load', '/shell/hello.txt');
});

test('fs load of a folder loads every file, several at once', async () => {
  mkdirSync(join(env.ufsRoot, 'dataset'));
  for (let i = 0; i < 24; i++) writeFileSync(join(env.ufsRoot, 'dataset', `img${i}.bin`), Buffer.alloc(50_000 + i, i));
  const r = await env.run(['fs', 'load', '--thread', '8', '/dataset']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').filter((l) => / loaded$/.test(l)).length, 24);
  const ls = await env.run(['fs', 'ls', '/dataset']);
  const percents = ls.stdout.trim().split('\n').map((l) => /(\d+)%/.exec(l)?.[1]);
  assert.deepEqual(percents, Array(24).fill('100'), ls.stdout);
});
