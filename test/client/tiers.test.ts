import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { StrataError } from '../../src/common/errors.js';
import { startCluster, writeFile, readFile, type TestCluster } from '../helpers/cluster.js';

const MB = 1024 * 1024;
let c: TestCluster;
let ssd: string;
before(async () => {
  ssd = mkdtempSync(join(tmpdir(), 'strata-ssd-'));
  c = await startCluster({
    conf: {
      'strata.user.block.size.bytes.default': '1MB',
      'strata.worker.tieredstore.levels': '2',
      'strata.worker.tieredstore.level0.dirs.quota': '3MB',
      'strata.worker.tieredstore.level1.dirs.path': join(ssd, 'ssd'),
      'strata.worker.tieredstore.level1.dirs.quota': '4MB',
    },
  });
});
after(async () => {
  await c?.stop();
  rmSync(ssd, { recursive: true, force: true });
});

const tiersOf = async (path: string) => (await c.fs.getStatus(path, { blocks: true })).blocks!.map((b) => b.locations[0]?.tier ?? '-').join('');

test('new blocks go to the highest tier with room; CACHE_PROMOTE moves them up, demoting the least recently used', async () => {
  const a = randomBytes(3 * MB);
  const b = randomBytes(3 * MB);
  await writeFile(c.fs, '/t/a', a, 'CACHE_THROUGH');
  assert.equal(await tiersOf('/t/a'), 'MEMMEMMEM');
  await writeFile(c.fs, '/t/b', b, 'CACHE_THROUGH');
  assert.equal(await tiersOf('/t/b'), 'SSDSSDSSD');
  assert.ok((await readFile(c.fs, '/t/b', 'CACHE_PROMOTE')).equals(b));
  // Heartbeats carry the moves to the master.
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(await tiersOf('/t/b'), 'MEMMEMMEM');
  assert.equal(await tiersOf('/t/a'), 'SSDSSDSSD');
  assert.ok((await readFile(c.fs, '/t/a', 'CACHE')).equals(a));
  assert.equal(await tiersOf('/t/a'), 'SSDSSDSSD', 'CACHE reads do not promote');
});

test('a worker full of pinned blocks gives a clear no-space error and corrupts nothing', async () => {
  const a = await readFile(c.fs, '/t/a');
  const b = await readFile(c.fs, '/t/b');
  await c.fs.setAttribute('/t', { pinned: true });
  await assert.rejects(writeFile(c.fs, '/t/c', randomBytes(2 * MB), 'MUST_CACHE'), (e: unknown) => {
    assert.ok(e instanceof StrataError);
    assert.equal(e.code, 'RESOURCE_EXHAUSTED');
    assert.match(e.message, /pinned|full|room|space/i);
    return true;
  });
  assert.equal(await c.fs.exists('/t/c'), false);
  assert.ok((await readFile(c.fs, '/t/a')).equals(a));
  assert.ok((await readFile(c.fs, '/t/b')).equals(b));
  const cap = await c.fs.capacity();
  assert.deepEqual(cap.tiers.map((t) => [t.alias, t.capacityBytes]), [['MEM', 3 * MB], ['SSD', 4 * MB]]);
  await c.fs.setAttribute('/t', { pinned: false });
  await writeFile(c.fs, '/t/c', randomBytes(2 * MB), 'MUST_CACHE');
});
