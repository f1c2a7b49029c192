/**
 * Once the kernel's entry timeout has passed, every open or stat of a path asks the mount again
 * for each name on it, and for attributes past their timeout. Names whose metadata the mount
 * holds fresh are answered by the native reader threads, their attributes too; those answers must never outlive a change made through the mount, and their
 * lookups must count when the kernel forgets the inodes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { FuseEnv, sh } from '../helpers/fuse.js';

let f: FuseEnv;
const files = Array.from({ length: 40 }, (_, i) => ({ name: `f${i}`, data: randomBytes(1000 + i * 37) }));
const pastEntryTimeout = () => new Promise((r) => setTimeout(r, 300));

type Counts = Record<string, { main: number; readers: number }>;
async function requests(): Promise<Counts> {
  const r = await sh(`python3 -c 'import os, sys; sys.stdout.write(os.getxattr(sys.argv[1], "user.strata.requests").decode())' ${f.mnt}`);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Counts;
}
const lookups = (c: Counts) => c.LOOKUP ?? { main: 0, readers: 0 };

before(async () => {
  // The kernel forgets names fast; the mount trusts its metadata for long.
  f = await FuseEnv.create({
    props: { 'strata.fuse.entry.timeout': '100ms', 'strata.fuse.attr.timeout': '100ms', 'strata.fuse.metadata.cache.expiry': '60s', 'strata.user.file.writetype.default': 'MUST_CACHE' },
  });
  mkdirSync(f.path('nl'));
  for (const x of files) writeFileSync(f.path(`nl/${x.name}`), x.data);
});
after(async () => {
  await f?.cleanup();
});

test('the lookups that revalidate known names are answered by the reader threads', async () => {
  await pastEntryTimeout();
  for (const x of files) assert.equal(statSync(f.path(`nl/${x.name}`)).size, x.data.length);
  await pastEntryTimeout();
  const before = lookups(await requests());
  for (const x of files) assert.deepEqual(readFileSync(f.path(`nl/${x.name}`)), x.data);
  const after = lookups(await requests());
  assert.ok(after.readers - before.readers >= files.length, `answered by the reader threads: ${after.readers - before.readers} of ${files.length}`);
  assert.ok(after.main - before.main <= 2, `answered by the main thread: ${after.main - before.main}`);
});

test('attributes asked for again after their timeout are answered by the reader threads', async () => {
  const x = files[5];
  await pastEntryTimeout();
  statSync(f.path(`nl/${x.name}`));
  const fd = openSync(f.path(`nl/${x.name}`), 'r');
  try {
    const before = (await requests()).GETATTR ?? { main: 0, readers: 0 };
    for (let i = 0; i < 3; i++) {
      await pastEntryTimeout();
      assert.equal(fstatSync(fd).size, x.data.length);
    }
    const after = (await requests()).GETATTR ?? { main: 0, readers: 0 };
    assert.ok(after.readers - before.readers >= 3, `answered by the reader threads: ${after.readers - before.readers}`);
    // One is the mount root's own: reading the counts checks its permissions, past its timeout.
    assert.ok(after.main - before.main <= 1, `answered by the main thread: ${after.main - before.main}`);
  } finally {
    closeSync(fd);
  }
});

test('a name removed, renamed or rewritten through the mount is never answered from before', async () => {
  await pastEntryTimeout();
  for (const x of files.slice(0, 3)) statSync(f.path(`nl/${x.name}`));
  rmSync(f.path('nl/f0'));
  renameSync(f.path('nl/f1'), f.path('nl/g1'));
  const rewritten = randomBytes(5000);
  writeFileSync(f.path('nl/f2'), rewritten);
  for (let round = 0; round < 2; round++) {
    assert.throws(() => statSync(f.path('nl/f0')), { code: 'ENOENT' });
    assert.throws(() => statSync(f.path('nl/f1')), { code: 'ENOENT' });
    assert.deepEqual(readFileSync(f.path('nl/g1')), files[1].data);
    assert.equal(statSync(f.path('nl/f2')).size, rewritten.length);
    assert.deepEqual(readFileSync(f.path('nl/f2')), rewritten);
    await pastEntryTimeout();
  }
});

test('inodes the kernel forgets after native lookups are looked up afresh, and read right', async () => {
  // Never opened: nothing but the kernel's lookups keeps their node ids.
  const fresh = Array.from({ length: 20 }, (_, i) => ({ name: `h${i}`, data: randomBytes(700 + i) }));
  for (const x of fresh) writeFileSync(f.path(`nl/${x.name}`), x.data);
  const before = await requests();
  for (let round = 0; round < 2; round++) {
    await pastEntryTimeout();
    for (const x of fresh) statSync(f.path(`nl/${x.name}`));
  }
  assert.ok(lookups(await requests()).readers - lookups(before).readers >= fresh.length, 'answered by the reader threads');
  const forgotten = (c: Counts) => (c.FORGET?.main ?? 0) + (c.BATCH_FORGET?.main ?? 0);
  // Evicts unused dentries and inodes: the kernel sends FORGET with every lookup it counted.
  writeFileSync('/proc/sys/vm/drop_caches', '2');
  const deadline = Date.now() + 10_000;
  while (forgotten(await requests()) === forgotten(before) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.ok(forgotten(await requests()) > forgotten(before), 'the kernel forgot inodes of the mount');
  // A forgotten id must never be handed out again by the reader threads.
  for (const x of fresh) assert.deepEqual(readFileSync(f.path(`nl/${x.name}`)), x.data, x.name);
});
