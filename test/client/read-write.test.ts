import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { requestsServed } from '../../src/bench/rpc-requests.js';
import { FileSystem } from '../../src/client/file-system.js';
import { StrataError } from '../../src/common/errors.js';
import { startCluster, writeFile, readFile, eventually, type TestCluster } from '../helpers/cluster.js';

let c: TestCluster;
before(async () => {
  c = await startCluster({ conf: { 'strata.user.block.size.bytes.default': '1MB' } });
});
after(async () => {
  await c?.stop();
});

test('MUST_CACHE: cached only, NOT_PERSISTED 100%, nothing in the UFS', async () => {
  const data = randomBytes(3 * 1024 * 1024 + 123);
  await writeFile(c.fs, '/mc/file.bin', data, 'MUST_CACHE');
  const info = await c.fs.getStatus('/mc/file.bin', { blocks: true });
  assert.equal(info.persistenceState, 'NOT_PERSISTED');
  assert.equal(info.inAlluxioPercentage, 100);
  assert.equal(info.length, data.length);
  assert.equal(info.blocks!.length, 4);
  assert.ok(!existsSync(join(c.ufsRoot, 'mc', 'file.bin')));
  assert.ok((await readFile(c.fs, '/mc/file.bin')).equals(data));
});

test('CACHE_THROUGH: PERSISTED 100% and the bytes are in the UFS', async () => {
  const data = randomBytes(2 * 1024 * 1024 + 5);
  await writeFile(c.fs, '/ct/file.bin', data, 'CACHE_THROUGH');
  const info = await c.fs.getStatus('/ct/file.bin');
  assert.equal(info.persistenceState, 'PERSISTED');
  assert.equal(info.inAlluxioPercentage, 100);
  assert.ok(readFileSync(join(c.ufsRoot, 'ct', 'file.bin')).equals(data));
});

test('THROUGH: PERSISTED 0%, read back through a worker', async () => {
  const data = randomBytes(1500 * 1024);
  await writeFile(c.fs, '/th/file.bin', data, 'THROUGH');
  const info = await c.fs.getStatus('/th/file.bin');
  assert.equal(info.persistenceState, 'PERSISTED');
  assert.equal(info.inAlluxioPercentage, 0);
  assert.ok((await readFile(c.fs, '/th/file.bin', 'NO_CACHE')).equals(data));
  assert.equal((await c.fs.getStatus('/th/file.bin')).inAlluxioPercentage, 0);
});

test('ASYNC_THROUGH: TO_BE_PERSISTED, then PERSISTED in the background', async () => {
  const data = randomBytes(2 * 1024 * 1024);
  await writeFile(c.fs, '/at/file.bin', data, 'ASYNC_THROUGH');
  const first = await c.fs.getStatus('/at/file.bin');
  assert.ok(['TO_BE_PERSISTED', 'PERSISTED'].includes(first.persistenceState));
  await eventually(async () => (await c.fs.getStatus('/at/file.bin')).persistenceState === 'PERSISTED', 10_000, 'persist');
  assert.ok(readFileSync(join(c.ufsRoot, 'at', 'file.bin')).equals(data));
});

test('a file put straight into the UFS: PERSISTED 0%; CACHE read makes it 100%, NO_CACHE does not; free brings it back to 0%', async () => {
  const data = randomBytes(2 * 1024 * 1024 + 77);
  mkdirSync(join(c.ufsRoot, 'direct'), { recursive: true });
  writeFileSync(join(c.ufsRoot, 'direct', 'a.bin'), data);
  writeFileSync(join(c.ufsRoot, 'direct', 'b.bin'), data);
  const listed = await c.fs.listStatus('/direct');
  assert.deepEqual(listed.map((f) => [f.name, f.length, f.persistenceState, f.inAlluxioPercentage]), [
    ['a.bin', data.length, 'PERSISTED', 0],
    ['b.bin', data.length, 'PERSISTED', 0],
  ]);
  assert.ok((await readFile(c.fs, '/direct/a.bin', 'NO_CACHE')).equals(data));
  assert.equal((await c.fs.getStatus('/direct/a.bin')).inAlluxioPercentage, 0);
  assert.ok((await readFile(c.fs, '/direct/b.bin', 'CACHE')).equals(data));
  assert.equal((await c.fs.getStatus('/direct/b.bin')).inAlluxioPercentage, 100);
  // The second read is served from the cache: same bytes.
  assert.ok((await readFile(c.fs, '/direct/b.bin')).equals(data));
  await c.fs.free('/direct/b.bin');
  assert.equal((await c.fs.getStatus('/direct/b.bin')).inAlluxioPercentage, 0);
  assert.equal(c.workers[0]!.workerId > 0, true);
});

test('a file freed and read again at once stays cached: the free is not done again at the next heartbeat', async () => {
  const data = randomBytes(3 * 1024 * 1024 + 5);
  await writeFile(c.fs, '/refill.bin', data, 'CACHE_THROUGH');
  await c.fs.free('/refill.bin');
  assert.ok((await readFile(c.fs, '/refill.bin', 'CACHE')).equals(data));
  assert.equal((await c.fs.getStatus('/refill.bin')).inAlluxioPercentage, 100);
  // Several heartbeats (200 ms here) later, the blocks the read cached are still there.
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal((await c.fs.getStatus('/refill.bin')).inAlluxioPercentage, 100);
});

test('positional reads anywhere in a multi-block file', async () => {
  const data = randomBytes(5 * 1024 * 1024 + 999);
  await writeFile(c.fs, '/pos.bin', data, 'CACHE_THROUGH');
  await c.fs.free('/pos.bin');
  const s = await c.fs.openFile('/pos.bin');
  try {
    for (const [pos, len] of [[0, 10], [1024 * 1024 - 5, 10], [3 * 1024 * 1024 + 17, 2 * 1024 * 1024], [data.length - 3, 100]] as const) {
      const buf = Buffer.alloc(len);
      const n = await s.read(buf, pos);
      assert.equal(n, Math.min(len, data.length - pos));
      assert.ok(buf.subarray(0, n).equals(data.subarray(pos, pos + n)), `bytes at ${pos}`);
    }
    assert.equal(await s.read(Buffer.alloc(10), data.length), 0);
  } finally {
    await s.close();
  }
});

test('a zero-length file', async () => {
  await writeFile(c.fs, '/empty', Buffer.alloc(0), 'CACHE_THROUGH');
  const info = await c.fs.getStatus('/empty');
  assert.equal(info.length, 0);
  assert.equal((await readFile(c.fs, '/empty')).length, 0);
});

test('load caches a persisted file; persist writes a MUST_CACHE file to the UFS', async () => {
  const data = randomBytes(1024 * 1024 * 2);
  writeFileSync(join(c.ufsRoot, 'load.bin'), data);
  assert.equal((await c.fs.getStatus('/load.bin')).inAlluxioPercentage, 0);
  await c.fs.load('/load.bin');
  assert.equal((await c.fs.getStatus('/load.bin')).inAlluxioPercentage, 100);
  await writeFile(c.fs, '/topersist.bin', data, 'MUST_CACHE');
  const p = await c.fs.persist('/topersist.bin');
  assert.equal(p.persistenceState, 'PERSISTED');
  assert.ok(readFileSync(join(c.ufsRoot, 'topersist.bin')).equals(data));
});

test('a failed write leaves nothing behind', async () => {
  const out = await c.fs.createFile('/aborted.bin', { writeType: 'MUST_CACHE' });
  await out.write(randomBytes(100_000));
  await out.abort();
  await assert.rejects(c.fs.getStatus('/aborted.bin'), (e: unknown) => StrataError.isCode(e, 'NOT_FOUND'));
});

test('concurrent readers of an uncached block share one fill; a partly read block keeps filling', async () => {
  const data = randomBytes(3 * 1024 * 1024 + 11);
  writeFileSync(join(c.ufsRoot, 'shared-fill.bin'), data);
  writeFileSync(join(c.ufsRoot, 'partial.bin'), data);
  const metric = async () => {
    const text = await (await fetch(`http://127.0.0.1:${c.workers[0]!.webPort}/metrics`)).text();
    const m = /strata_worker_bytes_read_total\{source="ufs_fill",role="worker"\} (\d+)/.exec(text);
    return m ? Number(m[1]) : 0;
  };
  const before = await metric();
  const reads = await Promise.all(Array.from({ length: 4 }, () => readFile(c.fs, '/shared-fill.bin')));
  for (const r of reads) assert.ok(r.equals(data));
  assert.equal((await metric()) - before, data.length, 'each byte read from the UFS once');
  const s = await c.fs.openFile('/partial.bin');
  const head = Buffer.alloc(10);
  await s.read(head, 0);
  await s.close();
  assert.ok(head.equals(data.subarray(0, 10)));
  await eventually(async () => (await c.fs.getStatus('/partial.bin')).inAlluxioPercentage > 0, 5000, 'first block filled in the background');
});

/** Requests a role has served on a route, from its /metrics. */
async function requestsServedOn(webPort: number, route: string): Promise<number> {
  return (await requestsServed([webPort]))?.get(route) ?? 0;
}

test('API requests are counted by route; a client asks the master for its workers once for many concurrent reads', async () => {
  const files = Array.from({ length: 24 }, (_, i) => `/herd/f${i}`);
  // In the UFS only: each read picks the worker that caches it.
  for (const f of files) await writeFile(c.fs, f, randomBytes(1000), 'THROUGH');
  const client = new FileSystem(c.conf);
  try {
    const workersBefore = await requestsServedOn(c.master.webPort, 'GET /api/v1/workers');
    const statusBefore = await requestsServedOn(c.master.webPort, 'GET /api/v1/status');
    const datas = await Promise.all(files.map((f) => readFile(client, f)));
    assert.ok(datas.every((d) => d.length === 1000));
    const workers = (await requestsServedOn(c.master.webPort, 'GET /api/v1/workers')) - workersBefore;
    assert.ok(workers >= 1 && workers <= 2, `${workers} calls for the list of workers, for ${files.length} reads at once`);
    assert.ok((await requestsServedOn(c.master.webPort, 'GET /api/v1/status')) - statusBefore >= files.length, 'each open asked the master for its file');
  } finally {
    await client.close();
  }
});
