/**
 * Prefetch (what a mount asks for when it sees a folder read cold): the worker loads the blocks
 * in the background, many at once, and stops where the cache has no room left that it may take
 * without evicting what readers cached lately; blocks no one used for a while (an older
 * dataset) make way for it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCluster, readFile, type TestCluster } from '../helpers/cluster.js';

const MB = 1024 * 1024;
let c: TestCluster;
before(async () => {
  c = await startCluster({ conf: { 'strata.user.block.size.bytes.default': '1MB', 'strata.worker.tieredstore.level0.dirs.quota': '10MB' } });
});
after(async () => {
  await c?.stop();
});

async function metric(name: string, label: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${c.workers[0]!.webPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${label}`));
  if (!line) throw new Error(`no ${name}{${label}} in the worker's metrics`);
  return Number(line.split(' ').pop());
}

/** The folder's cached percentages once they have not changed for a second. */
async function settle(path: string): Promise<number[]> {
  let last = '';
  let same = 0;
  for (let i = 0; i < 100; i++) {
    const now = (await c.fs.listStatus(path, { blocks: true })).map((f) => f.inAlluxioPercentage);
    same = now.join() === last ? same + 1 : 0;
    if (same === 5) return now;
    last = now.join();
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${path} never settled: ${last}`);
}

test('prefetched files are loaded in the background, up to the room the cache has without evicting', async () => {
  const data = randomBytes(MB);
  // A dataset put straight into the UFS.
  mkdirSync(join(c.ufsRoot, 'ds'));
  for (let i = 0; i < 16; i++) writeFileSync(join(c.ufsRoot, 'ds', `f${String(i).padStart(2, '0')}`), data);
  // Two files a reader cached: a prefetch must never push them out.
  assert.ok((await readFile(c.fs, '/ds/f00', 'CACHE')).equals(data));
  assert.ok((await readFile(c.fs, '/ds/f01', 'CACHE')).equals(data));
  assert.deepEqual((await c.fs.listStatus('/ds', { blocks: true })).slice(0, 3).map((f) => f.inAlluxioPercentage), [100, 100, 0]);
  const worker = (await c.fs.listWorkers())[0]!.address;
  const { next: cursor } = await c.fs.prefetchLoaded(worker, Number.MAX_SAFE_INTEGER);
  const queued = await c.fs.prefetch(await c.fs.listStatus('/ds', { blocks: true }));
  assert.equal(queued, 14, 'the 14 files not cached are queued');
  const percents = await settle('/ds');
  assert.deepEqual(percents.slice(0, 2), [100, 100], 'what readers cached stays');
  const cached = percents.filter((p) => p === 100).length;
  // 10 MB of cache with 5% kept free: 9 blocks of 1 MB, two of them the readers'.
  assert.equal(cached, 9, `cached: ${percents.join(' ')}`);
  assert.equal(await metric('strata_worker_evictions', 'kind="evicted"'), 0);
  const loaded = (await c.fs.listStatus('/ds', { blocks: true })).filter((f) => f.inAlluxioPercentage === 100 && f.name > 'f01');
  // The worker tells what its prefetches loaded since a cursor (what a mount leases ahead of its readers).
  const since = await c.fs.prefetchLoaded(worker, cursor);
  assert.deepEqual(
    [...since.blockIds].sort((a, b) => a - b),
    loaded.map((f) => f.blocks![0]!.blockId).sort((a, b) => a - b),
  );
  assert.equal(since.next, cursor + 7);
  assert.deepEqual(await c.fs.prefetchLoaded(worker, since.next), { next: since.next, blockIds: [] });
  // What was prefetched reads back right, from the cache.
  assert.ok((await readFile(c.fs, `/ds/${loaded[0]!.name}`)).equals(data));
});

test('a prefetch into a full cache evicts the blocks no one used lately, and only those', async () => {
  const d = await startCluster({
    conf: { 'strata.user.block.size.bytes.default': '1MB', 'strata.worker.tieredstore.level0.dirs.quota': '10MB', 'strata.worker.prefetch.evict.idle': '2s' },
  });
  try {
    const data = randomBytes(MB);
    for (const ds of ['old', 'new']) {
      mkdirSync(join(d.ufsRoot, ds));
      for (let i = 0; i < 9; i++) writeFileSync(join(d.ufsRoot, ds, `f${i}`), data);
    }
    // Yesterday's dataset fills the cache (8 of its 10 MB).
    for (let i = 0; i < 8; i++) assert.ok((await readFile(d.fs, `/old/f${i}`, 'CACHE')).equals(data));
    await new Promise((r) => setTimeout(r, 2500));
    // One of its files is read again: used lately, it stays.
    assert.ok((await readFile(d.fs, '/old/f3', 'CACHE')).equals(data));
    assert.equal(await d.fs.prefetch(await d.fs.listStatus('/new', { blocks: true })), 9);
    const deadline = Date.now() + 15_000;
    let state = '';
    for (;;) {
      const cached = async (ds: string) => (await d.fs.listStatus(`/${ds}`)).map((f) => (f.inAlluxioPercentage === 100 ? 1 : 0)).join('');
      const now = `old ${await cached('old')} new ${await cached('new')}`;
      if (now === state || Date.now() > deadline) break;
      state = now;
      await new Promise((r) => setTimeout(r, 1000));
    }
    // 1 MB of free room above the 5% kept free, then the 7 idle files of the old set: 8 new files.
    assert.equal(state, 'old 000100000 new 111111110', 'cached (1) and not (0), file by file');
    assert.ok((await readFile(d.fs, '/new/f0')).equals(data));
  } finally {
    await d.stop();
  }
});

test('fs free of files being prefetched drops what is queued, and what was in flight once it lands', async () => {
  const d = await startCluster({
    conf: { 'strata.user.block.size.bytes.default': '1MB', 'strata.worker.tieredstore.level0.dirs.quota': '128MB', 'strata.worker.prefetch.concurrency': '1' },
  });
  try {
    mkdirSync(join(d.ufsRoot, 'ds2'));
    for (let i = 0; i < 100; i++) writeFileSync(join(d.ufsRoot, 'ds2', `f${String(i).padStart(3, '0')}`), randomBytes(512 * 1024));
    assert.equal(await d.fs.prefetch(await d.fs.listStatus('/ds2', { blocks: true })), 100);
    await d.fs.free('/ds2');
    const deadline = Date.now() + 10_000;
    let cached = -1;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      const now = (await d.fs.listStatus('/ds2')).filter((f) => f.inAlluxioPercentage > 0).length;
      if (now === 0 && cached === 0) break;
      cached = now;
    }
    assert.equal(cached, 0, 'files freed while being prefetched stay freed');
  } finally {
    await d.stop();
  }
});
