/**
 * A memory tier on a tmpfs of the worker's own (dirs.mount=TMPFS): mounted with huge pages and
 * sized from the quota, found and resized by the next start with its cache in it, and refused
 * with a clear error where it would hide files or cannot be mounted.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, statfsSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { StrataError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/logging.js';
import { systemMounts, unmountAllUnder } from '../../src/common/system-mounts.js';
import { mountTmpfs } from '../../src/worker/tmpfs-mount.js';
import { startCluster, writeFile, readFile, eventually, type TestCluster } from '../helpers/cluster.js';

const PROPERTY = 'strata.worker.tieredstore.level0.dirs.mount';
let base: string;
let c: TestCluster;
const mem = () => join(base, 'mem');
const workerConf = (quota: string) => ({
  'strata.worker.tieredstore.level0.dirs.path': mem(),
  'strata.worker.tieredstore.level0.dirs.quota': quota,
  'strata.worker.index.dir': join(base, 'index'),
  [PROPERTY]: 'TMPFS',
});
const mountsAt = (path: string) => systemMounts().filter((m) => m.target === path);
const sizeOf = (path: string) => {
  const s = statfsSync(path);
  return s.blocks * s.bsize;
};

before(async () => {
  // As /proc/mounts names it, so that the mounts found below compare with it.
  base = realpathSync(mkdtempSync(join(tmpdir(), 'strata-tmpfs-')));
  c = await startCluster({ workers: 1, workerConf: [workerConf('64MB')] });
});
after(async () => {
  // Mounts first: the cluster's cleanup removes its folders, which must not hold a mount.
  try {
    for (const w of c?.workers ?? []) await w.stop().catch(() => undefined);
    unmountAllUnder(base);
    rmSync(base, { recursive: true, force: true });
  } finally {
    await c?.stop();
  }
});

test('the memory tier gets a tmpfs of its own, with huge pages, a quarter over its quota; the cache goes there', async () => {
  const [m, ...more] = mountsAt(mem());
  assert.equal(more.length, 0);
  assert.equal(m?.type, 'tmpfs');
  assert.match(m!.options, /huge=within_size/);
  assert.equal(sizeOf(mem()), 80 * 1024 * 1024);
  const data = randomBytes(300_000);
  await writeFile(c.fs, '/kept.bin', data, 'CACHE_THROUGH');
  assert.equal((await c.fs.getStatus('/kept.bin')).inAlluxioPercentage, 100);
  assert.equal(readdirSync(mem()).length, 1, 'one cache file in the tmpfs');
});

test('a worker started again finds its tmpfs, resizes it to a new quota, and serves the cache it holds', async () => {
  await c.workers[0]!.stop();
  c.workers.length = 0;
  await c.startWorker(workerConf('32MB'));
  assert.equal(mountsAt(mem()).length, 1, 'the same mount, not a second one over it');
  assert.equal(sizeOf(mem()), 40 * 1024 * 1024);
  await eventually(async () => (await c.fs.getStatus('/kept.bin')).inAlluxioPercentage === 100, 5000, 'the block reported by the new worker');
  // Gone from the UFS: the bytes can only come from the cache.
  rmSync(join(c.ufsRoot, 'kept.bin'));
  assert.equal((await readFile(c.fs, '/kept.bin')).length, 300_000);
});

test('a folder with files other than cache files is not mounted over: the error names them and the way out', () => {
  const dir = join(base, 'foreign');
  mkdirSync(dir);
  writeFileSync(join(dir, 'notes.txt'), 'mine');
  writeFileSync(join(dir, '17'), 'an old cache file');
  assert.throws(() => mountTmpfs(dir, 1 << 26, { property: PROPERTY, logger: silentLogger }), (e: unknown) => {
    assert.ok(e instanceof StrataError);
    assert.equal(e.code, 'FAILED_PRECONDITION');
    assert.match(e.message, new RegExp(`holds notes.txt, not only cache files.*set ${PROPERTY.replace(/\./g, '\\.')}=NONE`));
    return true;
  });
  assert.deepEqual(readdirSync(dir).sort(), ['17', 'notes.txt'], 'nothing was removed');
  assert.equal(mountsAt(dir).length, 0);
});

test('old cache files of the folder are dropped before the mount, not hidden under it', () => {
  const dir = join(base, 'old');
  mkdirSync(dir);
  writeFileSync(join(dir, '42'), 'an old cache file');
  mountTmpfs(dir, 1 << 26, { property: PROPERTY, logger: silentLogger });
  assert.equal(mountsAt(dir).length, 1);
  execFileSync('umount', [dir]);
  assert.deepEqual(readdirSync(dir), []);
});

test('a folder reached through a symbolic link is mounted once: the next start finds the mount there', () => {
  const real = join(base, 'real');
  mkdirSync(real);
  symlinkSync(real, join(base, 'link'));
  for (let i = 0; i < 2; i++) mountTmpfs(join(base, 'link'), 1 << 26, { property: PROPERTY, logger: silentLogger });
  assert.equal(mountsAt(real).length, 1);
  execFileSync('umount', [real]);
});

test('a mount point of another kind, or a user who may not mount, is refused with the reason', () => {
  assert.throws(() => mountTmpfs('/proc', 1 << 26, { property: PROPERTY, logger: silentLogger }), /\/proc is already a mount point of a proc file system: no tmpfs is mounted over it; to use the folder as it is, set strata\.worker\.tieredstore\.level0\.dirs\.mount=NONE/);
  // A folder the other user may write in, under folders it may pass through.
  const open = join(base, 'open');
  mkdirSync(join(open, 'mem'), { recursive: true });
  chmodSync(base, 0o755);
  chmodSync(open, 0o777);
  chmodSync(join(open, 'mem'), 0o777);
  writeFileSync(join(open, 'mem', '7'), 'a cache file');
  chmodSync(join(open, 'mem', '7'), 0o666);
  const script = `import(process.argv[1]).then((m) => { try { m.mountTmpfs(process.argv[2], 1 << 26, { property: 'p', logger: { info() {}, warn() {} } }); console.log('mounted'); } catch (e) { console.log(e.code + ': ' + e.message); } })`;
  const out = execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script, new URL('../../src/worker/tmpfs-mount.js', import.meta.url).pathname, join(open, 'mem')], { encoding: 'utf8' });
  assert.match(out, /^PERMISSION_DENIED: cannot mount a tmpfs at .*\/open\/mem for a memory tier: mounting needs root; to use the folder as it is, set p=NONE\n$/);
  assert.equal(mountsAt(join(open, 'mem')).length, 0);
  assert.deepEqual(readdirSync(join(open, 'mem')), ['7'], 'the cache is kept when the mount cannot be made');
});

test('a tmpfs the worker did not mount (the system\'s, as /dev/shm) is neither resized nor used', () => {
  const dir = join(base, 'system');
  mkdirSync(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'systemshm', dir]);
  try {
    assert.throws(() => mountTmpfs(dir, 1 << 26, { property: PROPERTY, logger: silentLogger }), /system is already a mount point of a tmpfs Strata did not mount \(systemshm\): no tmpfs is mounted over it; to use the folder as it is, set strata\.worker\.tieredstore\.level0\.dirs\.mount=NONE/);
    assert.equal(sizeOf(dir), 8 * 1024 * 1024);
    assert.equal(mountsAt(dir).length, 1);
  } finally {
    execFileSync('umount', [dir]);
  }
});
