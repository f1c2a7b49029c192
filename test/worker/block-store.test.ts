import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, readFile, writeFile, readdir, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { StrataError } from '../../src/common/errors.js';
import { blockIdOf } from '../../src/common/types.js';
import { BlockStore, type TierConfig } from '../../src/worker/block-store/index.js';
import { pattern } from './fixtures/pattern.js';

const BS = 64 * 1024;
const cleanup: string[] = [];
const stores: BlockStore[] = [];

after(async () => {
  for (const s of stores) await s.close().catch(() => undefined);
  for (const d of cleanup) await rm(d, { recursive: true, force: true });
});

async function tempDir(base: string): Promise<string> {
  const d = await mkdtemp(join(base, 'strata-bs-test-'));
  cleanup.push(d);
  return d;
}

/** A MEM tier under /dev/shm and an SSD tier under the temp dir, quotas in blocks. */
async function layout(mem: number[], ssd: number[] = []): Promise<{ tiers: TierConfig[]; indexPath: string }> {
  const shm = await tempDir('/dev/shm');
  const disk = await tempDir(tmpdir());
  const tiers: TierConfig[] = [{ alias: 'MEM', dirs: mem.map((q, i) => ({ path: join(shm, `mem${i}`), quotaBytes: q * BS })) }];
  if (ssd.length > 0) tiers.push({ alias: 'SSD', dirs: ssd.map((q, i) => ({ path: join(disk, `ssd${i}`), quotaBytes: q * BS })) });
  return { tiers, indexPath: join(disk, 'index', 'blocks.sqlite') };
}

async function openStore(cfg: { tiers: TierConfig[]; indexPath: string }, extra: { leaseSweepIntervalMs?: number } = {}): Promise<BlockStore> {
  const s = await BlockStore.open({ ...cfg, ...extra });
  stores.push(s);
  return s;
}


async function put(s: BlockStore, fileId: number, index: number, opts: { length?: number; preferTier?: string } = {}): Promise<Buffer> {
  const length = opts.length ?? BS;
  const data = pattern(fileId * 100 + index, BS).subarray(0, length);
  const w = await s.createBlock({ fileId, index, blockSize: BS, length, ...(opts.preferTier ? { preferTier: opts.preferTier } : {}) });
  await w.write(data.subarray(0, length >> 1));
  await w.write(data.subarray(length >> 1));
  await w.commit();
  return data;
}

async function allocated(path: string): Promise<number> {
  return (await stat(path)).blocks * 512;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function sortedBlocks(s: BlockStore): Record<string, number[]> {
  return Object.fromEntries(Object.entries(s.listBlocks()).map(([tier, ids]) => [tier, ids.sort((a, b) => a - b)]));
}

function code(c: string): (err: unknown) => boolean {
  return (err) => StrataError.isCode(err, c as never);
}

test('a committed block reads back, and is invisible before commit', async () => {
  const s = await openStore(await layout([4]));
  const id = blockIdOf(3, 1);
  const data = pattern(9, BS - 100);
  const w = await s.createBlock({ fileId: 3, index: 1, blockSize: BS, length: data.length });
  assert.equal(w.offset, BS);
  assert.equal(w.tier, 'MEM');
  await w.write(data.subarray(0, 1000));
  assert.equal(w.written, 1000);
  await assert.rejects(s.createBlock({ fileId: 3, index: 1, blockSize: BS, length: data.length }), code('ALREADY_EXISTS'));
  assert.equal(s.has(id), false);
  assert.equal(s.get(id), undefined);
  assert.deepEqual(s.listBlocks(), { MEM: [] });
  assert.deepEqual(s.blocksOfFile(3), []);
  await assert.rejects(s.read(id, 0, 10), code('NOT_FOUND'));
  assert.throws(() => s.acquireLease([id], 1000), code('NOT_FOUND'));
  await assert.rejects(w.commit(), code('FAILED_PRECONDITION'));
  await assert.rejects(w.write(Buffer.alloc(data.length)), code('INVALID_ARGUMENT'));
  await w.write(data.subarray(1000));
  const meta = await w.commit();

  assert.deepEqual(s.get(id), meta);
  assert.equal(meta.cacheFile, w.cacheFile);
  assert.equal(meta.offset, BS);
  assert.equal(meta.length, data.length);
  assert.deepEqual(s.listBlocks(), { MEM: [id] });
  assert.deepEqual(await s.read(id, 0, data.length), data);
  assert.deepEqual(await s.read(id, 500, 20), data.subarray(500, 520));
  await assert.rejects(s.read(id, 1, data.length), code('INVALID_ARGUMENT'));
  await assert.rejects(s.createBlock({ fileId: 3, index: 1, blockSize: BS, length: 10 }), code('ALREADY_EXISTS'));
  assert.deepEqual(s.usage(), [{ alias: 'MEM', capacityBytes: 4 * BS, usedBytes: data.length }]);
  const onDisk = await readFile(meta.cacheFile);
  assert.deepEqual(onDisk.subarray(BS, BS + data.length), data);
});

test('abort leaves nothing behind', async () => {
  const s = await openStore(await layout([4]));
  const w = await s.createBlock({ fileId: 5, index: 0, blockSize: BS, length: BS });
  assert.equal(s.usage()[0]!.usedBytes, BS, 'a reservation counts as used');
  await w.write(pattern(1, BS / 2));
  await w.abort();
  assert.equal(s.has(blockIdOf(5, 0)), false);
  assert.equal(s.usage()[0]!.usedBytes, 0);
  assert.equal(await exists(w.cacheFile), false, 'the cache file of a file with no blocks is deleted');

  // With a committed neighbour, the aborted range is punched and the neighbour survives.
  const kept = await put(s, 5, 1);
  const w2 = await s.createBlock({ fileId: 5, index: 0, blockSize: BS, length: BS });
  await w2.write(pattern(2, BS));
  await w2.abort();
  assert.ok((await allocated(w2.cacheFile)) <= BS, 'only the committed block holds space');
  assert.deepEqual((await readFile(w2.cacheFile)).subarray(0, BS), Buffer.alloc(BS));
  assert.deepEqual(await s.read(blockIdOf(5, 1), 0, BS), kept);
  // The block can be written again after an abort.
  await put(s, 5, 0);
  assert.equal(s.has(blockIdOf(5, 0)), true);
});

test("a file's blocks share one sparse cache file", async () => {
  const s = await openStore(await layout([8, 8]));
  const d0 = await put(s, 7, 0);
  const d2 = await put(s, 7, 2);
  const d3 = await put(s, 7, 3, { length: 1000 });
  const metas = s.blocksOfFile(7);
  assert.deepEqual(metas.map((m) => m.index), [0, 2, 3]);
  const file = metas[0]!.cacheFile;
  assert.ok(metas.every((m) => m.cacheFile === file && m.dir === metas[0]!.dir), 'one cache file for the file');
  assert.equal((await stat(file)).size, 3 * BS + 1000);
  assert.ok((await allocated(file)) < 3 * BS + 4096, `sparse where block 1 is missing, got ${await allocated(file)}`);
  const d1 = await put(s, 7, 1);
  assert.deepEqual(await readFile(file), Buffer.concat([d0, d1, d2, d3]), 'a wholly cached file is the file');
});

test('a block that may not evict (a prefetch) goes only where there is free room', async () => {
  const s = await openStore(await layout([2], [1]));
  for (const f of [1, 2]) await put(s, f, 0);
  // SSD has free room: taken there, nothing evicted.
  const w = await s.createBlock({ fileId: 3, index: 0, blockSize: BS, length: BS, noEviction: true });
  assert.equal(w.tier, 'SSD');
  await w.write(Buffer.alloc(BS, 3));
  await w.commit();
  // Full now: refused, and every block stays.
  await assert.rejects(s.createBlock({ fileId: 4, index: 0, blockSize: BS, length: BS, noEviction: true }), (e: unknown) => StrataError.isCode(e, 'RESOURCE_EXHAUSTED'));
  assert.equal(s.stats.evictions, 0);
  assert.deepEqual(s.listBlocks(), { MEM: [blockIdOf(1, 0), blockIdOf(2, 0)], SSD: [blockIdOf(3, 0)] });
});

test('evictIdle drops only blocks no one used for the given time, oldest first, never pinned or leased ones', async () => {
  const s = await openStore(await layout([3], [2]));
  for (const f of [1, 2, 3, 4, 5]) await put(s, f, 0);
  s.setPinnedFiles([1]);
  const lease = s.acquireLease([blockIdOf(2, 0)], 60_000);
  await sleep(300);
  s.touch(blockIdOf(3, 0)); // used just now
  // Idle for 200 ms: 4 and 5 (1 is pinned, 2 leased, 3 used); 4 is the older.
  assert.equal(await s.evictIdle(BS, 200), BS);
  assert.equal(s.has(blockIdOf(4, 0)), false);
  assert.equal(s.has(blockIdOf(5, 0)), true);
  // Asked for more than there is: what there is goes, and the answer says how much.
  assert.equal(await s.evictIdle(3 * BS, 200), BS);
  assert.deepEqual([1, 2, 3, 4, 5].map((f) => s.has(blockIdOf(f, 0))), [true, true, true, false, false]);
  // Nothing idle that long: nothing goes.
  assert.equal(await s.evictIdle(BS, 60_000), 0);
  assert.equal(s.stats.evictions, 2);
  assert.equal(s.stats.demotions, 0, 'dropped, not demoted');
  s.releaseLease(lease.leaseId);
});

test('eviction is LRU, demotes MEM to SSD, and drops from the last tier', async () => {
  const s = await openStore(await layout([2], [2]));
  const data = new Map<number, Buffer>();
  for (const f of [1, 2, 3, 4]) data.set(f, await put(s, f, 0));
  const id = (f: number) => blockIdOf(f, 0);
  assert.deepEqual(s.listBlocks(), { MEM: [id(1), id(2)], SSD: [id(3), id(4)] });
  s.drainChanges();
  await s.read(id(1), 0, 10); // LRU is now 2, 3, 4, 1

  data.set(5, await put(s, 5, 0));
  assert.equal(s.get(id(5))!.tier, 'MEM');
  assert.equal(s.get(id(1))!.tier, 'MEM', 'the recently read block stays');
  assert.equal(s.get(id(2))!.tier, 'SSD', 'the LRU block of MEM is demoted');
  assert.equal(s.has(id(3)), false, 'the LRU block of SSD is dropped');
  assert.equal(s.get(id(4))!.tier, 'SSD');
  assert.deepEqual(s.stats, { evictions: 2, demotions: 1, promotions: 0, evictedBytes: 2 * BS });
  assert.deepEqual(s.usage(), [
    { alias: 'MEM', capacityBytes: 2 * BS, usedBytes: 2 * BS },
    { alias: 'SSD', capacityBytes: 2 * BS, usedBytes: 2 * BS },
  ]);
  const moved = s.get(id(2))!;
  assert.ok(moved.cacheFile.includes('ssd0'));
  assert.deepEqual(await s.read(id(2), 0, BS), data.get(2));
  assert.deepEqual((await readFile(moved.cacheFile)).subarray(0, BS), data.get(2));
  for (const f of [1, 4, 5]) assert.deepEqual(await s.read(id(f), 0, BS), data.get(f));
  const changes = s.drainChanges();
  assert.deepEqual(changes.removed, [id(3)]);
  assert.deepEqual(changes.added, { SSD: [id(2)], MEM: [id(5)] });
  const memDir = s.get(id(1))!.dir;
  assert.deepEqual((await readdir(memDir)).sort(), ['1', '5'], 'the demoted block left no file in MEM');
});

test('reads during a demotion see whole, right bytes', async () => {
  const s = await openStore(await layout([1], [4]));
  const victim = await put(s, 1, 0);
  const id = blockIdOf(1, 0);
  let stop = false;
  let reads = 0;
  const reader = (async () => {
    while (!stop) {
      assert.deepEqual(await s.read(id, 0, BS), victim);
      reads++;
    }
  })();
  await sleep(5);
  await put(s, 2, 0, { preferTier: 'MEM' });
  await sleep(5);
  stop = true;
  await reader;
  assert.equal(s.get(id)!.tier, 'SSD');
  assert.ok(reads > 2);
});

test('pinned and leased blocks are never evicted; a store full of them is RESOURCE_EXHAUSTED', async () => {
  const s = await openStore(await layout([1], [1]));
  const a = await put(s, 1, 0);
  const b = await put(s, 2, 0);
  s.setPinnedFiles([1]);
  const lease = s.acquireLease([blockIdOf(2, 0)], 60_000);
  assert.equal(lease.blocks[0]!.tier, 'SSD');
  const before = s.usage();
  await assert.rejects(
    s.createBlock({ fileId: 3, index: 0, blockSize: BS, length: BS }),
    (err: unknown) => {
      assert.ok(StrataError.isCode(err, 'RESOURCE_EXHAUSTED'));
      const msg = (err as Error).message;
      assert.match(msg, /MEM/);
      assert.match(msg, /SSD/);
      assert.match(msg, new RegExp(String(BS)));
      return true;
    },
  );
  assert.deepEqual(s.usage(), before, 'nothing reserved by the failed attempt');
  assert.deepEqual(s.stats.evictions, 0);
  assert.deepEqual(await s.read(blockIdOf(1, 0), 0, BS), a);
  assert.deepEqual(await s.read(blockIdOf(2, 0), 0, BS), b);
  assert.deepEqual(await readFile(lease.blocks[0]!.cacheFile), b);

  // Once the lease goes, the unpinned block can make room; the pinned one stays in MEM.
  assert.equal(s.releaseLease(lease.leaseId), true);
  await put(s, 3, 0);
  assert.equal(s.get(blockIdOf(1, 0))!.tier, 'MEM');
  assert.equal(s.has(blockIdOf(2, 0)), false);
  assert.equal(s.get(blockIdOf(3, 0))!.tier, 'SSD');
});

test('promote moves a block to the top tier', async () => {
  const s = await openStore(await layout([1], [2]));
  const data = await put(s, 4, 0, { preferTier: 'SSD' });
  const id = blockIdOf(4, 0);
  const old = s.get(id)!;
  assert.equal(old.tier, 'SSD');
  assert.equal(await s.promote(id), true);
  const now = s.get(id)!;
  assert.equal(now.tier, 'MEM');
  assert.deepEqual(await s.read(id, 0, BS), data);
  assert.equal(await exists(old.cacheFile), false);
  assert.equal(s.stats.promotions, 1);

  // No room in MEM (pinned) or a leased block: no promotion.
  await put(s, 5, 0, { preferTier: 'SSD' });
  s.setPinnedFiles([4]);
  assert.equal(await s.promote(blockIdOf(5, 0)), false);
  s.setPinnedFiles([]);
  const lease = s.acquireLease([blockIdOf(5, 0)], 60_000);
  assert.equal(await s.promote(blockIdOf(5, 0)), false);
  s.releaseLease(lease.leaseId);
  assert.equal(await s.promote(blockIdOf(5, 0)), true, 'evicting the other block by demotion');
  assert.equal(s.get(id)!.tier, 'SSD');
  assert.deepEqual(await s.read(id, 0, BS), data);
  await assert.rejects(s.promote(blockIdOf(99, 0)), code('NOT_FOUND'));
});

test('remove punches a hole, and waits for the last lease', async () => {
  const s = await openStore(await layout([4], [4]));
  await put(s, 6, 0, { preferTier: 'SSD' });
  const d1 = await put(s, 6, 1, { preferTier: 'SSD' });
  const file = s.get(blockIdOf(6, 0))!.cacheFile;
  const full = await allocated(file);
  assert.ok(full >= 2 * BS);
  await s.remove(blockIdOf(6, 0));
  assert.equal(s.has(blockIdOf(6, 0)), false);
  assert.ok(full - (await allocated(file)) >= BS, 'the range was deallocated');
  assert.deepEqual((await readFile(file)).subarray(0, BS), Buffer.alloc(BS));
  assert.deepEqual(await s.read(blockIdOf(6, 1), 0, BS), d1);
  assert.equal(s.usage()[1]!.usedBytes, BS);

  const lease = s.acquireLease([blockIdOf(6, 1)], 60_000);
  await s.remove(blockIdOf(6, 1));
  assert.equal(s.has(blockIdOf(6, 1)), false, 'hidden at once');
  assert.deepEqual(s.drainChanges().removed.sort((a, b) => a - b), [blockIdOf(6, 0), blockIdOf(6, 1)]);
  assert.deepEqual((await readFile(file)).subarray(BS), d1, 'bytes kept for the lease holder');
  await assert.rejects(s.createBlock({ fileId: 6, index: 1, blockSize: BS, length: BS }), code('ALREADY_EXISTS'));
  s.releaseLease(lease.leaseId);
  for (let i = 0; i < 100 && (await exists(file)); i++) await sleep(5);
  assert.equal(await exists(file), false, 'freed at release; the file had no other blocks');
  assert.equal(s.usage()[1]!.usedBytes, 0);
  await s.remove(blockIdOf(6, 1)); // removing what is gone is a no-op
});

test('a leased fill that fails keeps the bytes it had until the lease ends', async () => {
  const s = await openStore(await layout([4]));
  const id = blockIdOf(8, 0);
  const w = await s.createBlock({ fileId: 8, index: 0, blockSize: BS, length: BS });
  const lease = s.leaseFilling(id, 60_000);
  const half = pattern(3, BS / 2);
  await w.write(half);
  await w.abort();
  assert.equal(s.has(id), false, 'never visible as cached');
  assert.deepEqual((await readFile(w.cacheFile)).subarray(0, BS / 2), half, 'a reader of the fill still reads what was in');
  assert.equal(s.usage()[0]!.usedBytes, BS, 'its space stays reserved');
  await assert.rejects(s.createBlock({ fileId: 8, index: 0, blockSize: BS, length: BS }), code('ALREADY_EXISTS'));
  s.releaseLease(lease);
  for (let i = 0; i < 100 && (await exists(w.cacheFile)); i++) await sleep(5);
  assert.equal(await exists(w.cacheFile), false, 'released at the end of the lease');
  assert.equal(s.usage()[0]!.usedBytes, 0);
  await put(s, 8, 0);
  assert.equal(s.has(id), true, 'and the block can be cached again');
  assert.throws(() => s.leaseFilling(blockIdOf(8, 5), 60_000), code('NOT_FOUND'));
});

test('a reopened store keeps its blocks and LRU order', async () => {
  const cfg = await layout([2], [2]);
  const s1 = await BlockStore.open(cfg);
  const a = await put(s1, 1, 0);
  const b = await put(s1, 2, 0);
  await sleep(3);
  await s1.read(blockIdOf(1, 0), 0, 1); // LRU: 2, 1
  await s1.close();
  await assert.rejects(s1.read(blockIdOf(1, 0), 0, 1), code('UNAVAILABLE'));

  const s2 = await BlockStore.open(cfg);
  assert.deepEqual(sortedBlocks(s2), { MEM: [blockIdOf(1, 0), blockIdOf(2, 0)], SSD: [] });
  assert.equal(s2.usage()[0]!.usedBytes, 2 * BS);
  await put(s2, 3, 0, { preferTier: 'MEM' });
  assert.equal(s2.get(blockIdOf(2, 0))!.tier, 'SSD', 'the block least recently used before the restart is demoted');
  assert.deepEqual(await s2.read(blockIdOf(1, 0), 0, BS), a);
  assert.deepEqual(await s2.read(blockIdOf(2, 0), 0, BS), b);
  await s2.close();

  const s3 = await openStore(cfg);
  assert.deepEqual(sortedBlocks(s3), { MEM: [blockIdOf(1, 0), blockIdOf(3, 0)], SSD: [blockIdOf(2, 0)] });
  assert.deepEqual(await s3.read(blockIdOf(2, 0), 0, BS), b);
  assert.deepEqual(s3.usage().map((u) => u.usedBytes), [2 * BS, BS]);
});

async function crash(cfg: { tiers: TierConfig[]; indexPath: string }, commit: [number, number][], partial: [number, number][]): Promise<void> {
  const fixture = fileURLToPath(new URL('./fixtures/crash-writer.js', import.meta.url));
  const child = spawn(process.execPath, [fixture, JSON.stringify({ ...cfg, blockSize: BS, commit, partial })], { stdio: 'inherit' });
  const [exitCode, signal] = (await once(child, 'exit')) as [number | null, string | null];
  assert.equal(signal, 'SIGKILL', `crash fixture exited with ${exitCode}`);
}

test('after a crash, uncommitted bytes are not served and are punched', async () => {
  const cfg = await layout([8]);
  const dir = cfg.tiers[0]!.dirs[0]!.path;
  await crash(cfg, [[8, 0], [9, 0]], [[8, 1], [10, 0]]);
  const file8 = join(dir, '8');
  assert.equal((await stat(file8)).size, 2 * BS, 'the crashed writer left bytes');
  assert.equal(await exists(join(dir, '10')), true);
  await unlink(join(dir, '9')); // a committed block whose cache file is lost
  const foreign = join(dir, 'notes.txt');
  await writeFile(foreign, 'not ours');

  const s = await openStore(cfg);
  assert.equal(s.has(blockIdOf(8, 1)), false);
  assert.equal(s.has(blockIdOf(10, 0)), false);
  assert.equal(s.has(blockIdOf(9, 0)), false, 'a row whose file is gone is dropped');
  assert.deepEqual(s.listBlocks(), { MEM: [blockIdOf(8, 0)] });
  assert.deepEqual(await s.read(blockIdOf(8, 0), 0, BS), pattern(800, BS));
  assert.equal((await stat(file8)).size, BS, 'the uncovered tail is cut');
  assert.ok((await allocated(file8)) <= BS);
  assert.equal(await exists(join(dir, '10')), false, 'a cache file with no committed block is deleted');
  assert.equal(await exists(foreign), true, 'foreign files are left alone');
  assert.equal(s.usage()[0]!.usedBytes, BS);
  await put(s, 8, 1);
  assert.deepEqual(await s.read(blockIdOf(8, 1), 0, BS), pattern(801, BS));
});

test('a crash mid-block in the middle of a cached file punches only that range', async () => {
  const cfg = await layout([4]);
  await crash(cfg, [[8, 0], [8, 2]], [[8, 1]]);
  const file = join(cfg.tiers[0]!.dirs[0]!.path, '8');
  assert.ok((await allocated(file)) >= 3 * BS);
  const s = await openStore(cfg);
  assert.deepEqual(await readFile(file), Buffer.concat([pattern(800, BS), Buffer.alloc(BS), pattern(802, BS)]));
  assert.ok((await allocated(file)) <= 2 * BS);
  assert.deepEqual(s.blocksOfFile(8).map((m) => m.index), [0, 2]);
});

test('a store that could not make room finds it once a lease runs out or a file is unpinned', async () => {
  // No sweep timer runs in this test: only an eviction's own sweep ends leases.
  const s = await openStore(await layout([2]), { leaseSweepIntervalMs: 3_600_000 });
  await put(s, 1, 0);
  await put(s, 2, 0);
  s.setPinnedFiles([1]);
  s.acquireLease([blockIdOf(2, 0)], 50);
  for (let i = 0; i < 3; i++) await assert.rejects(s.createBlock({ fileId: 3, index: 0, blockSize: BS, length: BS }), code('RESOURCE_EXHAUSTED'));
  await sleep(80);
  await put(s, 3, 0);
  assert.equal(s.has(blockIdOf(2, 0)), false, 'the expired lease no longer held its block');

  s.acquireLease([blockIdOf(3, 0)], 60_000);
  for (let i = 0; i < 3; i++) await assert.rejects(s.createBlock({ fileId: 4, index: 0, blockSize: BS, length: BS }), code('RESOURCE_EXHAUSTED'));
  s.setPinnedFiles([]);
  await put(s, 4, 0);
  assert.equal(s.has(blockIdOf(1, 0)), false, 'the unpinned block made room');
  assert.equal(s.has(blockIdOf(3, 0)), true, 'the leased one stayed');
});

test('leases expire', async () => {
  const s = await openStore(await layout([1]), { leaseSweepIntervalMs: 10 });
  await put(s, 1, 0);
  const lease = s.acquireLease([blockIdOf(1, 0)], 40);
  await assert.rejects(s.createBlock({ fileId: 2, index: 0, blockSize: BS, length: BS }), code('RESOURCE_EXHAUSTED'));
  await sleep(80);
  assert.equal(s.releaseLease(lease.leaseId), false, 'already expired');
  await put(s, 2, 0);
  assert.equal(s.has(blockIdOf(1, 0)), false);
  assert.throws(() => s.acquireLease([blockIdOf(1, 0)], 40), code('NOT_FOUND'));
});

test('drainChanges reports blocks added, moved and removed since the last drain', async () => {
  const s = await openStore(await layout([1], [2]));
  assert.deepEqual(s.drainChanges(), { added: {}, removed: [] });
  await put(s, 1, 0);
  await put(s, 1, 1);
  assert.deepEqual(s.drainChanges(), { added: { MEM: [blockIdOf(1, 0)], SSD: [blockIdOf(1, 1)] }, removed: [] });
  assert.deepEqual(s.drainChanges(), { added: {}, removed: [] });
  await s.remove(blockIdOf(1, 1));
  await put(s, 2, 0, { preferTier: 'MEM' }); // demotes block (1,0) to SSD
  await put(s, 3, 0, { preferTier: 'SSD' });
  await s.remove(blockIdOf(3, 0)); // added then removed: only removed
  assert.deepEqual(s.drainChanges(), {
    added: { SSD: [blockIdOf(1, 0)], MEM: [blockIdOf(2, 0)] },
    removed: [blockIdOf(1, 1), blockIdOf(3, 0)],
  });
});

test('concurrent writers that each need an eviction never overfill a tier', async () => {
  const s = await openStore(await layout([2], [2]));
  for (const f of [1, 2, 3, 4]) await put(s, f, 0);
  const written = await Promise.all([5, 6, 7, 8].map(async (f) => [f, await put(s, f, 0, { preferTier: 'MEM' })] as const));
  for (const u of s.usage()) assert.ok(u.usedBytes <= u.capacityBytes, `${u.alias} overfilled: ${u.usedBytes}`);
  const all = Object.values(s.listBlocks()).flat().sort((a, b) => a - b);
  assert.deepEqual(all, [5, 6, 7, 8].map((f) => blockIdOf(f, 0)), 'the new blocks displaced the old ones');
  for (const [f, data] of written) assert.deepEqual(await s.read(blockIdOf(f, 0), 0, BS), data);
  assert.ok(s.stats.evictions >= 4);
});
