/**
 * A multi-GB object written through Strata into S3 (multipart, CACHE_THROUGH) and read back twice:
 * from the cache, and from S3 (parallel ranged GETs) after fs free. Opt-in: it moves several GB
 * through s3rver and takes minutes, so it runs only with STRATA_BIG_TESTS=1
 * (size: STRATA_BIG_TEST_BYTES, default 3 GiB).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startCluster, type TestCluster } from '../helpers/cluster.js';
import { startS3rver, type S3Server } from '../helpers/s3rver.js';

const enabled = process.env.STRATA_BIG_TESTS === '1';
const SIZE = Number(process.env.STRATA_BIG_TEST_BYTES ?? 3 * 2 ** 30);
const CHUNK = 4 << 20;

let s3: S3Server;
let cluster: TestCluster;

/** The test's content: a random 4 MiB pattern, each chunk stamped with its index. */
function chunkAt(pattern: Buffer, index: number, length: number): Buffer {
  const c = Buffer.from(pattern.subarray(0, length));
  c.writeUInt32LE(index, 0);
  return c;
}

before(async () => {
  if (!enabled) return;
  s3 = await startS3rver();
  await s3.createBucket('bigdata');
  await s3.client.send(new PutObjectCommand({ Bucket: 'bigdata', Key: 'objects/', Body: '', ContentLength: 0 }));
  cluster = await startCluster({ workerConf: [{ 'strata.worker.tieredstore.level0.dirs.quota': `${Math.ceil(SIZE / 2 ** 30) + 1}GB` }] });
  await cluster.fs.createDirectory('/big', { recursive: true, allowExists: true });
  await cluster.fs.mount('/big/s3', 's3://bigdata/objects', { options: s3.options() });
});

after(async () => {
  await cluster?.stop();
  await s3?.stop();
});

async function readBack(path: string, readType: 'CACHE' | 'NO_CACHE'): Promise<{ md5: string; bytes: number; mbps: number }> {
  const started = Date.now();
  const hash = createHash('md5');
  let bytes = 0;
  const s = await cluster.fs.openFile(path, { readType });
  try {
    for await (const c of s.chunks()) {
      hash.update(c);
      bytes += c.length;
    }
  } finally {
    await s.close();
  }
  return { md5: hash.digest('hex'), bytes, mbps: bytes / 1e6 / ((Date.now() - started) / 1000) };
}

test(`a ${(SIZE / 2 ** 30).toFixed(1)} GiB object written through Strata and read back`, { skip: !enabled && 'set STRATA_BIG_TESTS=1 to run', timeout: 30 * 60_000 }, async () => {
  const pattern = randomBytes(CHUNK);
  const expected = createHash('md5');
  const out = await cluster.fs.createFile('/big/s3/huge.bin', { writeType: 'CACHE_THROUGH', blockSize: 64 << 20 });
  for (let at = 0, i = 0; at < SIZE; at += CHUNK, i++) {
    const c = chunkAt(pattern, i, Math.min(CHUNK, SIZE - at));
    expected.update(c);
    await out.write(c);
  }
  await out.close();
  const want = expected.digest('hex');
  const head = await s3.client.send(new HeadObjectCommand({ Bucket: 'bigdata', Key: 'objects/huge.bin' }));
  assert.equal(head.ContentLength, SIZE);
  const cached = await readBack('/big/s3/huge.bin', 'CACHE');
  assert.deepEqual([cached.bytes, cached.md5], [SIZE, want]);
  await cluster.fs.free('/big/s3/huge.bin');
  const cold = await readBack('/big/s3/huge.bin', 'NO_CACHE');
  assert.deepEqual([cold.bytes, cold.md5], [SIZE, want]);
  console.log(`big object: cached read ${cached.mbps.toFixed(0)} MB/s, read from S3 ${cold.mbps.toFixed(0)} MB/s`);
});
