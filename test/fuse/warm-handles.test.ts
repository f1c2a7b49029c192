/**
 * Files read through the mount stay open (leased) for a while after their last close, so the
 * next epoch of a training job opens them without a worker round trip; a replaced file is
 * never served from the old handle, and idle handles let go of their leases.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FuseEnv } from '../helpers/fuse.js';

let f: FuseEnv;

before(async () => {
  f = await FuseEnv.create({ props: { 'strata.fuse.open.cache.idle': '1500ms', 'strata.user.file.writetype.default': 'CACHE_THROUGH' } });
});
after(async () => {
  await f?.cleanup();
});

async function leasesHeld(): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${f.env.props['strata.worker.web.port']}/metrics`);
  const line = (await res.text()).split('\n').find((l) => l.startsWith('strata_worker_leases{kind="leases"'));
  assert.ok(line, 'the worker exports strata_worker_leases');
  return Number(line.split(' ')[1]);
}

test('a closed file keeps its lease until idle; reopening reuses it; then it is let go', async () => {
  const files = Array.from({ length: 5 }, (_, i) => ({ name: `f${i}.bin`, data: randomBytes(50_000 + i) }));
  for (const x of files) writeFileSync(join(f.env.dir, x.name), x.data);
  await f.env.run(['fs', 'mkdir', '/warm']);
  for (const x of files) assert.equal((await f.env.run(['fs', 'copyFromLocal', join(f.env.dir, x.name), `/warm/${x.name}`])).code, 0);
  assert.equal(await leasesHeld(), 0);
  for (let epoch = 0; epoch < 3; epoch++) {
    for (const x of files) assert.deepEqual(readFileSync(f.path(`warm/${x.name}`)), x.data);
    // All closed, all still leased: one lease per file, however many times it was opened.
    assert.equal(await leasesHeld(), files.length, `epoch ${epoch}`);
  }
  const deadline = Date.now() + 10_000;
  while ((await leasesHeld()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.equal(await leasesHeld(), 0, 'idle handles released their leases');
});

test('a file replaced under the same name is read afresh, not from the warm handle', async () => {
  const a = randomBytes(70_000);
  const b = randomBytes(90_000);
  writeFileSync(join(f.env.dir, 'a'), a);
  writeFileSync(join(f.env.dir, 'b'), b);
  assert.equal((await f.env.run(['fs', 'copyFromLocal', join(f.env.dir, 'a'), '/swap'])).code, 0);
  assert.deepEqual(readFileSync(f.path('swap')), a);
  assert.equal((await f.env.run(['fs', 'rm', '/swap'])).code, 0);
  assert.equal((await f.env.run(['fs', 'copyFromLocal', join(f.env.dir, 'b'), '/swap'])).code, 0);
  await new Promise((r) => setTimeout(r, 1200)); // past the attr and metadata timeouts
  assert.deepEqual(readFileSync(f.path('swap')), b);
  // And the same through a write on the mount itself.
  writeFileSync(f.path('swap'), a);
  assert.deepEqual(readFileSync(f.path('swap')), a);
});
