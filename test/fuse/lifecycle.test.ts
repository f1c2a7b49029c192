/**
 * The mount's life: busy, non-empty and missing targets refused; a killed daemon leaves no dead
 * mount in the way of the next mount and its mount errors instead of hanging; a clean unmount
 * lets an open write finish; read-only mounts, permissions and a full cache give the right errno.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FuseEnv, sh } from '../helpers/fuse.js';

let f: FuseEnv;
before(async () => {
  f = await FuseEnv.create({
    props: {
      'strata.user.file.writetype.default': 'MUST_CACHE',
      'strata.user.block.size.bytes.default': '1MB',
      'strata.worker.tieredstore.level0.dirs.quota': '24MB',
    },
  });
});
after(async () => {
  await f?.cleanup();
});

const isMounted = (p: string) => readFileSync('/proc/mounts', 'utf8').includes(` ${p} `);

test('mount errors: busy point, non-empty point, missing Strata path, a file as Strata path', async () => {
  let r = await f.env.run(['fuse', 'mount', f.mnt, '/']);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /is busy/);
  const full = join(f.env.dir, 'full');
  mkdirSync(full);
  writeFileSync(join(full, 'x'), 'x');
  r = await f.env.run(['fuse', 'mount', full, '/']);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /not empty/);
  r = await f.env.run(['fuse', 'mount', join(f.env.dir, 'm2'), '/no/such/folder']);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /\/no\/such\/folder does not exist/);
  r = await f.env.run(['fuse', 'mount', '-o', 'colour=blue', join(f.env.dir, 'm3'), '/']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /Unknown mount option "colour=blue"/);
});

test('a killed daemon: its mount errors instead of hanging, and the next mount clears it', async () => {
  const mnt = join(f.env.dir, 'killme');
  assert.equal((await f.env.run(['fuse', 'mount', mnt, '/'])).code, 0);
  const pid = Number((await f.env.run(['fuse', 'stat'])).stdout.split('\n').find((l) => l.includes(mnt))!.split('\t')[0]);
  process.kill(pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 300));
  const t0 = Date.now();
  const ls = await sh(`ls ${mnt}`, { timeoutMs: 10_000 });
  assert.notEqual(ls.code, 0);
  assert.match(ls.stderr, /Transport endpoint is not connected/);
  assert.ok(Date.now() - t0 < 5000);
  assert.doesNotMatch((await f.env.run(['fuse', 'stat'])).stdout, new RegExp(mnt));
  const again = await f.env.run(['fuse', 'mount', mnt, '/']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((await sh(`ls ${mnt}`)).code, 0);
  assert.equal((await f.env.run(['fuse', 'umount', mnt])).code, 0);
  assert.ok(!isMounted(mnt));
});

test('a mount record being written is neither listed nor removed; one its writer left behind is removed', async () => {
  // A daemon writes its record under a dot name and renames it into place; a `fuse stat` (or a
  // `fuse mount` waiting for its daemon) that took the half-written file for stale would remove it.
  const dir = join(f.env.workDir, 'fuse');
  mkdirSync(dir, { recursive: true });
  const writing = join(dir, `.${process.pid}.json`);
  const leftBehind = join(dir, '.999999999.json');
  writeFileSync(writing, '{"pid":');
  writeFileSync(leftBehind, '{"pid":');
  const r = await f.env.run(['fuse', 'stat']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(writing), 'the record of a live writer was removed');
  assert.ok(!existsSync(leftBehind), 'the record of a dead writer was kept');
  rmSync(writing);
  // A mount still comes up and is listed (its record appears whole).
  const mnt = join(f.env.dir, 'recorded');
  assert.equal((await f.env.run(['fuse', 'mount', mnt, '/'])).code, 0);
  assert.match((await f.env.run(['fuse', 'stat'])).stdout, new RegExp(mnt));
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.')), []);
  assert.equal((await f.env.run(['fuse', 'umount', mnt])).code, 0);
});

test('a clean unmount waits for an open write to finish; -f forces', async () => {
  const mnt = join(f.env.dir, 'writing');
  assert.equal((await f.env.run(['fuse', 'mount', mnt, '/'])).code, 0);
  // A writer that holds its file open until told to finish (a marker file outside the mount):
  // the unmounts below meet it open however slowly the machine runs.
  const done = join(f.env.dir, 'writer-may-finish');
  const writer = sh(`exec 3>${mnt}/slow.txt; echo part1 >&3; while [ ! -e ${done} ]; do sleep 0.05; done; echo part2 >&3; exec 3>&-`, { timeoutMs: 30_000 });
  const opened = Date.now();
  while (!existsSync(join(mnt, 'slow.txt'))) {
    assert.ok(Date.now() - opened < 10_000, 'the writer did not create its file within 10 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  const quick = await f.env.run(['fuse', 'umount', '-w', '0', mnt]);
  assert.equal(quick.code, 8, quick.stderr);
  assert.match(quick.stderr, /files are still open/);
  const waiting = f.env.run(['fuse', 'umount', '-w', '10', mnt]);
  // Told to finish once the waiting unmount has had time to start and find the file open.
  setTimeout(() => writeFileSync(done, ''), 1000);
  const um = await waiting;
  assert.equal(um.code, 0, um.stderr);
  assert.equal((await writer).code, 0);
  assert.equal((await f.env.run(['fs', 'cat', '/slow.txt'])).stdout, 'part1\npart2\n');
});

test('read-only mounts give EROFS; mode bits give EACCES to other users', async () => {
  const ro = join(f.env.dir, 'ro-ufs');
  mkdirSync(ro);
  writeFileSync(join(ro, 'r.txt'), 'read me');
  assert.equal((await f.env.run(['fs', 'mount', '--readonly', '/ro', ro])).code, 0);
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal(readFileSync(join(f.mnt, 'ro', 'r.txt'), 'utf8'), 'read me');
  let r = await sh(`echo x > ${f.mnt}/ro/new.txt`);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Read-only file system/);
  r = await sh(`rm ${f.mnt}/ro/r.txt`);
  assert.match(r.stderr, /Read-only file system/);
  await sh(`mkdir ${f.mnt}/private && echo s > ${f.mnt}/private/s && chmod 700 ${f.mnt}/private`);
  r = await sh(`setpriv --reuid=65534 --regid=65534 --clear-groups ls ${f.mnt}/private`);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Permission denied/);
});

test('a cache full of unpersisted data gives ENOSPC and keeps what was there', async () => {
  const r1 = await sh(`head -c 16000000 /dev/urandom > ${f.mnt}/big1 && md5sum < ${f.mnt}/big1`);
  assert.equal(r1.code, 0, r1.stderr);
  const r2 = await sh(`head -c 16000000 /dev/urandom > ${f.mnt}/big2`);
  assert.notEqual(r2.code, 0);
  assert.match(r2.stderr, /No space left on device/);
  const again = await sh(`md5sum < ${f.mnt}/big1`);
  assert.equal(again.stdout, r1.stdout);
  assert.equal((await f.env.run(['fs', 'test', '-e', '/big2'])).code, 1);
});
