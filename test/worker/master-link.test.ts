/**
 * Commits of freshly cached blocks, with the master in the worker's process (`strata local`):
 * blocks that finish together go to the master together, and the master knows every one of them
 * when the fill is answered. Over HTTP a commit's round trip gathers the next ones; in process a
 * call answers within the same turn, so only the wait for the next turn gathers them. A commit
 * reports only what the store still holds, so a free is never undone by a late commit.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requestsServed } from '../../src/bench/rpc-requests.js';
import { blockIdOf } from '../../src/common/types.js';
import type { BlockStore } from '../../src/worker/block-store/index.js';
import type { MasterLink } from '../../src/worker/master-link.js';
import { eventually, startCluster, writeFile, type TestCluster } from '../helpers/cluster.js';

const FILES = 64;
let c: TestCluster;
before(async () => {
  // No heartbeat during the test: the master must learn of the blocks from the commits alone.
  c = await startCluster({ inProcessMaster: true, conf: { 'strata.worker.block.heartbeat.interval': '1h' } });
});
after(async () => {
  await c?.stop();
});

const commits = async (transport: 'http' | 'in-process') =>
  (await requestsServed([c.master.webPort], transport))?.get('POST /api/v1/worker/commit') ?? 0;

test('blocks cached together are committed in a few calls, in process, and the master knows them all', { timeout: 30_000 }, async () => {
  mkdirSync(join(c.ufsRoot, 'small'));
  for (let i = 0; i < FILES; i++) writeFileSync(join(c.ufsRoot, 'small', `f${String(i).padStart(2, '0')}`), randomBytes(8192));
  const baseline = { inProcess: await commits('in-process'), http: await commits('http') };
  const queued = await c.fs.prefetch(await c.fs.listStatus('/small', { blocks: true }));
  assert.equal(queued, FILES);
  await eventually(async () => (await c.fs.listStatus('/small')).every((f) => f.inAlluxioPercentage === 100), 20_000, 'every file cached');
  const inProcess = (await commits('in-process')) - baseline.inProcess;
  assert.equal((await commits('http')) - baseline.http, 0, 'a commit went over HTTP');
  // Fills finish in bunches: 7 calls when measured, and one per block (64) with each commit sent
  // at once. The bound leaves room for a slow machine, where the bunches are smaller.
  assert.ok(inProcess >= 1 && inProcess <= FILES / 2, `${inProcess} commit calls for ${FILES} blocks`);
});

test('a commit reports only blocks the store still holds: one freed while the commit waited is not brought back', async () => {
  await writeFile(c.fs, '/freed.bin', randomBytes(10_000), 'CACHE_THROUGH');
  const info = await c.fs.getStatus('/freed.bin');
  assert.equal(info.inAlluxioPercentage, 100);
  const { store, link } = (c.workers[0] as unknown as { parts: { store: BlockStore; link: MasterLink } }).parts;
  const blockId = blockIdOf(info.fileId, 0);
  // A fill's commit waiting behind another while a free drops the block (here the free goes
  // first, so that the order is certain).
  await c.fs.free('/freed.bin');
  await eventually(async () => !store.has(blockId), 5000, 'the worker dropped the block');
  await link.commit([blockId]);
  assert.equal((await c.fs.getStatus('/freed.bin')).inAlluxioPercentage, 0);
});
