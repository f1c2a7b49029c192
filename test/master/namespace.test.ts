import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StrataError, type ErrorCode } from '../../src/common/errors.js';
import { FileSystem } from '../../src/client/file-system.js';
import { startCluster, writeFile, readFile, eventually, type TestCluster } from '../helpers/cluster.js';

let c: TestCluster;
let extUfs: string;
before(async () => {
  c = await startCluster({ conf: { 'strata.user.block.size.bytes.default': '1MB' } });
  extUfs = mkdtempSync(join(tmpdir(), 'strata-ext-ufs-'));
});
after(async () => {
  await c?.stop();
  rmSync(extUfs, { recursive: true, force: true });
});

const code = (expected: ErrorCode) => (e: unknown) => {
  assert.ok(e instanceof StrataError, String(e));
  assert.equal(e.code, expected, e.message);
  return true;
};

test('mkdir creates missing parents and persists folders; mkdir over a file fails', async () => {
  await c.fs.createDirectory('/a/b/c', { recursive: true });
  assert.ok(existsSync(join(c.ufsRoot, 'a', 'b', 'c')));
  const a = await c.fs.getStatus('/a');
  assert.equal(a.folder, true);
  assert.equal(a.persistenceState, 'PERSISTED');
  await writeFile(c.fs, '/a/file', Buffer.from('x'), 'CACHE_THROUGH');
  await assert.rejects(c.fs.createDirectory('/a/file'), code('ALREADY_EXISTS'));
  await assert.rejects(c.fs.createDirectory('/a/b'), code('ALREADY_EXISTS'));
  await c.fs.createDirectory('/a/b', { allowExists: true });
});

test('bad paths are refused with the path named', async () => {
  await assert.rejects(c.fs.getStatus('relative/path'), code('INVALID_ARGUMENT'));
  await assert.rejects(c.fs.createDirectory('/x/../y'), code('INVALID_ARGUMENT'));
  await assert.rejects(c.fs.getStatus('/no/such/thing'), (e: unknown) => code('NOT_FOUND')(e) && /\/no\/such\/thing/.test((e as Error).message));
});

test('rm of a non-empty folder needs recursive; rm -R removes it from the UFS too', async () => {
  await writeFile(c.fs, '/rmdir/f1', randomBytes(10), 'CACHE_THROUGH');
  await assert.rejects(c.fs.delete('/rmdir'), code('DIRECTORY_NOT_EMPTY'));
  assert.ok(existsSync(join(c.ufsRoot, 'rmdir', 'f1')));
  await c.fs.delete('/rmdir', { recursive: true });
  assert.ok(!existsSync(join(c.ufsRoot, 'rmdir')));
  await assert.rejects(c.fs.getStatus('/rmdir'), code('NOT_FOUND'));
});

test('rename files and folders, in Strata and the UFS', async () => {
  const data = randomBytes(1000);
  await writeFile(c.fs, '/mv/src/f', data, 'CACHE_THROUGH');
  await c.fs.rename('/mv/src', '/mv/dst');
  assert.ok(existsSync(join(c.ufsRoot, 'mv', 'dst', 'f')));
  assert.ok(!existsSync(join(c.ufsRoot, 'mv', 'src')));
  assert.ok((await readFile(c.fs, '/mv/dst/f')).equals(data));
  await c.fs.createDirectory('/mv/into');
  const moved = await c.fs.rename('/mv/dst/f', '/mv/into');
  assert.equal(moved.path, '/mv/into/f');
  await assert.rejects(c.fs.rename('/mv/into', '/mv/into/sub'), code('INVALID_ARGUMENT'));
});

test('mounts: nested, read-only, listing, errors for non-empty points, missing UFS folders and moves across mounts', async () => {
  mkdirSync(join(extUfs, 'data'), { recursive: true });
  writeFileSync(join(extUfs, 'data', 'in-ufs.txt'), 'hello from the ufs');
  await c.fs.createDirectory('/mnt');
  await c.fs.mount('/mnt/ext', extUfs, { options: { 'aws.secretKey': 'sekrit', region: 'here' } });
  const table = await c.fs.getMountTable();
  const m = table.find((x) => x.path === '/mnt/ext')!;
  assert.equal(m.ufsUri, extUfs);
  assert.equal(m.options['aws.secretKey'], '******');
  assert.equal(m.options.region, 'here');
  assert.equal((await readFile(c.fs, '/mnt/ext/data/in-ufs.txt')).toString(), 'hello from the ufs');
  await assert.rejects(c.fs.rename('/mnt/ext/data/in-ufs.txt', '/moved.txt'), code('INVALID_ARGUMENT'));
  await writeFile(c.fs, '/busy/f', Buffer.from('x'), 'MUST_CACHE');
  await assert.rejects(c.fs.mount('/busy', extUfs + '/data'), code('ALREADY_EXISTS'));
  await assert.rejects(c.fs.mount('/missing', join(extUfs, 'nope')), code('NOT_FOUND'));
  await c.fs.mount('/ro', join(extUfs, 'data'), { readOnly: true });
  await assert.rejects(writeFile(c.fs, '/ro/new', Buffer.from('x'), 'CACHE_THROUGH'), code('READ_ONLY'));
  await assert.rejects(c.fs.delete('/ro/in-ufs.txt'), code('READ_ONLY'));
  await c.fs.unmount('/ro');
  await assert.rejects(c.fs.getStatus('/ro'), code('NOT_FOUND'));
  assert.ok(existsSync(join(extUfs, 'data', 'in-ufs.txt')), 'unmount leaves the UFS alone');
});

test('metadata sync interval 0 notices a changed UFS file and drops its stale cache', async () => {
  const fs0 = new FileSystem(c.conf.with({ 'strata.user.file.metadata.sync.interval': '0' }));
  try {
    writeFileSync(join(c.ufsRoot, 'changing.txt'), 'version one');
    assert.equal((await readFile(c.fs, '/changing.txt')).toString(), 'version one');
    assert.equal((await c.fs.getStatus('/changing.txt')).inAlluxioPercentage, 100);
    writeFileSync(join(c.ufsRoot, 'changing.txt'), 'version two, longer');
    // A client with -1 (never) keeps seeing what was loaded; one with 0 sees the change.
    const stale = await c.fs.getStatus('/changing.txt');
    assert.equal(stale.length, 'version one'.length);
    const fresh = await fs0.getStatus('/changing.txt');
    assert.equal(fresh.length, 'version two, longer'.length);
    assert.equal(fresh.inAlluxioPercentage, 0);
    assert.equal((await readFile(c.fs, '/changing.txt')).toString(), 'version two, longer');
  } finally {
    await fs0.close().catch(() => undefined);
  }
});

test('pin, TTL and attributes', async () => {
  await writeFile(c.fs, '/attrs/f', randomBytes(100), 'CACHE_THROUGH');
  await c.fs.setAttribute('/attrs/f', { pinned: true });
  assert.equal((await c.fs.getStatus('/attrs/f')).pinned, true);
  await assert.rejects(c.fs.free('/attrs/f'), code('FAILED_PRECONDITION'));
  await c.fs.free('/attrs/f', { forced: true });
  const freed = await c.fs.getStatus('/attrs/f');
  assert.equal(freed.pinned, false);
  assert.equal(freed.inAlluxioPercentage, 0);
  await c.fs.setAttribute('/attrs/f', { mode: 0o640 });
  assert.equal((await c.fs.getStatus('/attrs/f')).mode, 0o640);
  await c.fs.setAttribute('/attrs/f', { ttl: 60_000, ttlAction: 'DELETE' });
  const t = await c.fs.getStatus('/attrs/f');
  assert.equal(t.ttl, 60_000);
  assert.equal(t.ttlAction, 'DELETE');
});

test('a cluster token keeps out callers without it', async () => {
  const stranger = new FileSystem(c.conf.with({ 'strata.security.token': 'wrong' }));
  await assert.rejects(stranger.listStatus('/'), code('UNAUTHENTICATED'));
});

test('mode bits are checked against the caller, as SIMPLE mode does', async () => {
  await c.fs.createDirectory('/private');
  await c.fs.setAttribute('/private', { mode: 0o700 });
  await writeFile(c.fs, '/private/secret', Buffer.from('s'), 'MUST_CACHE');
  const bob = new FileSystem(c.conf.with({ 'strata.security.login.username': 'bob' }));
  await assert.rejects(bob.listStatus('/private'), code('PERMISSION_DENIED'));
  await assert.rejects(bob.delete('/private/secret'), code('PERMISSION_DENIED'));
  await assert.rejects(bob.createDirectory('/private/bobs'), code('PERMISSION_DENIED'));
  await c.fs.setAttribute('/private', { mode: 0o777 });
  await bob.createDirectory('/private/bobs');
  assert.equal((await c.fs.getStatus('/private/bobs')).owner, 'bob');
  await assert.rejects(bob.setAttribute('/private/secret', { mode: 0o777 }), code('PERMISSION_DENIED'));
});

test('TTL with action delete removes the file when it expires', async () => {
  await c.stop();
  c = await startCluster({ conf: { 'strata.master.ttl.checker.interval': '100ms' } });
  await writeFile(c.fs, '/ttl/gone', randomBytes(10), 'CACHE_THROUGH');
  await writeFile(c.fs, '/ttl/freed', randomBytes(10), 'CACHE_THROUGH');
  await c.fs.setAttribute('/ttl/gone', { ttl: 200, ttlAction: 'DELETE' });
  await c.fs.setAttribute('/ttl/freed', { ttl: 200, ttlAction: 'FREE' });
  await eventually(async () => !(await c.fs.exists('/ttl/gone')), 5000, 'TTL delete');
  await eventually(async () => (await c.fs.getStatus('/ttl/freed')).inAlluxioPercentage === 0, 5000, 'TTL free');
  assert.ok(!existsSync(join(c.ufsRoot, 'ttl', 'gone')));
});
