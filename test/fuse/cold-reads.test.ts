/**
 * Cold reads through the mount, from an S3 bucket behind a proxy slower than the reader: the
 * worker fills its cache while the mount answers each read from what is in so far (in native
 * code, inside the range the handle has leased), and the kernel keeps no second copy of the
 * bytes in its page cache. The mount has passthrough off so that `fincore` (mincore on an mmap
 * of the file) shows the mount's own page cache, not the cache file's.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { FuseEnv, sh } from '../helpers/fuse.js';
import { startS3rver, type S3Server } from '../helpers/s3rver.js';
import { startThrottleProxy, type ThrottleProxy } from '../../src/bench/throttle-proxy.js';
import { parseSlowUfs } from '../../src/bench/slow-ufs.js';

const MiB = 2 ** 20;
const BUCKET = 'cold';
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

let s3: S3Server | undefined;
let proxy: ThrottleProxy | undefined;
let f: FuseEnv | undefined;
const objects = new Map<string, Buffer>();

before(async () => {
  s3 = await startS3rver();
  await s3.createBucket(BUCKET);
  for (const name of ['pieces.bin', 'mapped.bin', 'scattered.bin']) {
    // Three 4 MiB blocks and a tail that ends mid-page.
    const data = randomBytes(12 * MiB + 1234);
    objects.set(name, data);
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: name, Body: data }));
  }
  for (let i = 0; i < 8; i++) {
    const data = randomBytes(200_000 + i);
    objects.set(`ds/f${i}`, data);
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `ds/f${i}`, Body: data }));
  }
  for (const name of ['tree/a/f0', 'tree/a/f1', 'tree/a/f2', 'tree/a/f3', 'tree/a/f4', 'tree/b/f0', 'tree/b/f1', 'tree/b/f2', 'tree/d/f0', 'tree/d/f1', 'tree/d/f2', 'other/c/f0', 'other/c/f1', 'other/c/f2']) {
    const data = randomBytes(50_000);
    objects.set(name, data);
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: name, Body: data }));
  }
  // About a second per big file: a reader of the mount outruns the fill.
  proxy = await startThrottleProxy({ host: '127.0.0.1', port: s3.port }, parseSlowUfs('latency=1ms,bandwidth=12MB/s'));
  f = await FuseEnv.create({ props: { 'strata.user.block.size.bytes.default': '4MB' }, mountArgs: ['-o', 'no_passthrough'] });
  const opts = s3.options({ 's3.endpoint': proxy.endpoint });
  const r = await f.env.run(['fs', 'mount', '/s3', `s3://${BUCKET}`, ...Object.entries(opts).flatMap(([k, v]) => ['--option', `${k}=${v}`])]);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  await f?.cleanup();
  await proxy?.close();
  await s3?.stop();
});

async function python(name: string, code: string): Promise<string> {
  const file = join(f!.env.dir, `${name}.py`);
  writeFileSync(file, code);
  const r = await sh(`python3 ${file}`, { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

test('a cold file read in small pieces while it fills reads right, ends wholly cached, and leaves no copy in the page cache', async () => {
  const path = f!.path('s3/pieces.bin');
  const out = await python(
    'pieces',
    `
import os, hashlib
fd = os.open(${JSON.stringify(path)}, os.O_RDONLY)
h = hashlib.md5()
while True:
    b = os.read(fd, 4093)
    if not b: break
    h.update(b)
print(h.hexdigest())
print(os.getxattr(${JSON.stringify(path)}, "user.strata.cached_percent").decode())
`,
  );
  const [sum, cached] = out.split('\n');
  assert.equal(sum, md5(objects.get('pieces.bin')!));
  assert.equal(cached, '100');
  const resident = await sh(`fincore --bytes --noheadings --output RES ${path}`);
  assert.equal(resident.code, 0, resident.stderr);
  assert.equal(Number(resident.stdout.trim()), 0, 'the cold read went around the page cache');
});

test('a cold file read through a shared mmap reads right', async () => {
  const path = f!.path('s3/mapped.bin');
  const out = await python(
    'mapped',
    `
import os, mmap, hashlib
with open(${JSON.stringify(path)}, "rb") as fh:
    m = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    print(hashlib.md5(m[:]).hexdigest())
    m.close()
`,
  );
  assert.equal(out, md5(objects.get('mapped.bin')!));
});

test('cold reads at scattered offsets, across blocks and past the end, return the right bytes', async () => {
  const path = f!.path('s3/scattered.bin');
  const data = objects.get('scattered.bin')!;
  const ranges: Array<[number, number]> = [
    [9 * MiB, 5000],
    [100, 4093],
    [4 * MiB - 3, 10],
    [8 * MiB - 1, MiB + 2],
    [12 * MiB + 1230, 100],
    [12 * MiB + 1234, 10],
    [5 * MiB + 7, 3 * MiB],
  ];
  const out = await python(
    'scattered',
    `
import os, hashlib
fd = os.open(${JSON.stringify(path)}, os.O_RDONLY)
for off, size in ${JSON.stringify(ranges)}:
    b = os.pread(fd, size, off)
    print(len(b), hashlib.md5(b).hexdigest())
`,
  );
  const expected = ranges.map(([off, size]) => {
    const b = data.subarray(Math.min(off, data.length), Math.min(off + size, data.length));
    return `${b.length} ${md5(b)}`;
  });
  assert.deepEqual(out.split('\n'), expected);
});

test('a folder read cold file after file has its other files loaded ahead of the readers', async () => {
  const leasesBefore = await f!.settledLeases();
  // The mount's default: two cold opens in one folder start its prefetch.
  const r = await sh(`for i in 0 1 2 3; do cat ${f!.path('s3/ds')}/f$i > /dev/null; done`);
  assert.equal(r.code, 0, r.stderr);
  const unread = [4, 5, 6, 7].map((i) => f!.path(`s3/ds/f${i}`));
  const percents = async () =>
    (await python('percents', `import os\nfor p in ${JSON.stringify(unread)}: print(os.getxattr(p, "user.strata.cached_percent").decode())`)).split('\n');
  const deadline = Date.now() + 15_000;
  while ((await percents()).some((p) => p !== '100')) {
    assert.ok(Date.now() < deadline, `files never read are not loaded: ${(await percents()).join(' ')}`);
    await new Promise((res) => setTimeout(res, 300));
  }
  // Before any reader opens them, the mount leases the files loaded ahead (kept open for their
  // first open), as it keeps the four read cold.
  const leased = Date.now() + 5_000;
  while ((await f!.leasesHeld()) < leasesBefore + 8) {
    assert.ok(Date.now() < leased, `leases held: ${await f!.leasesHeld()}, before the reads: ${leasesBefore}`);
    await new Promise((res) => setTimeout(res, 100));
  }
  const sums = await sh(`md5sum ${unread.join(' ')}`);
  assert.deepEqual(
    sums.stdout.trim().split('\n').map((l) => l.split(' ')[0]),
    [4, 5, 6, 7].map((i) => md5(objects.get(`ds/f${i}`)!)),
  );
});

test('once a folder is prefetched, so are sibling folders read cold before and after it; elsewhere it takes two cold opens', async () => {
  // What the master knows (fs ls), not the mount's cached metadata.
  const cachedPercent = async (names: string[]) => {
    const out: string[] = [];
    for (const n of names) {
      const r = await f!.env.run(['fs', 'ls', `/s3/${n}`]);
      assert.equal(r.code, 0, r.stderr);
      out.push(/\s(\d+)%\s/.exec(r.stdout)?.[1] ?? r.stdout);
    }
    return out;
  };
  // tree/b is read cold once before tree/a's second cold open, tree/d once after it.
  const r = await sh(`cat ${f!.path('s3/tree/b/f0')} > /dev/null; for i in 0 1 2 3; do cat ${f!.path('s3/tree/a')}/f$i > /dev/null; done; cat ${f!.path('s3/tree/d/f0')} ${f!.path('s3/other/c/f0')} > /dev/null`);
  assert.equal(r.code, 0, r.stderr);
  const loaded = ['tree/a/f4', 'tree/b/f1', 'tree/b/f2', 'tree/d/f1', 'tree/d/f2'];
  const deadline = Date.now() + 15_000;
  while ((await cachedPercent(loaded)).some((p) => p !== '100')) {
    assert.ok(Date.now() < deadline, `a folder read cold was not loaded (${loaded.join(', ')}): ${(await cachedPercent(loaded)).join(' ')}`);
    await new Promise((res) => setTimeout(res, 300));
  }
  // other/c is no sibling of tree/a: one cold open there starts nothing.
  assert.deepEqual(await cachedPercent(['other/c/f1', 'other/c/f2']), ['0', '0']);
  const sums = await sh(`md5sum ${['tree/b/f1', 'tree/b/f2'].map((n) => f!.path(`s3/${n}`)).join(' ')}`);
  assert.deepEqual(sums.stdout.trim().split('\n').map((l) => l.split(' ')[0]), ['tree/b/f1', 'tree/b/f2'].map((n) => md5(objects.get(n)!)));
});

