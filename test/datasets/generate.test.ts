/**
 * The dataset generator into a local folder and into a real S3 server (s3rver): layouts,
 * sizes, determinism, records that read back, and S3 failures with their error codes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { StrataError } from '../../src/common/errors.js';
import { decodeExample, featureValue } from '../../src/datasets/example-proto.js';
import { generateDataset, localSink, s3Sink, type DatasetSpec } from '../../src/datasets/generate.js';
import { decodeImage } from '../../src/datasets/images.js';
import { readRecords } from '../../src/datasets/tfrecord.js';
import { S3RVER_KEY, startS3rver, type S3Server } from '../helpers/s3rver.js';

let dir: string;
let s3: S3Server;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strata-datasets-'));
  s3 = await startS3rver();
});
after(async () => {
  await s3?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Every file under `root`, as relative paths with '/', sorted. */
function filesUnder(root: string, rel = ''): string[] {
  return readdirSync(join(root, rel), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesUnder(root, rel ? `${rel}/${e.name}` : e.name) : [rel ? `${rel}/${e.name}` : e.name]))
    .sort();
}

const folderSpec: DatasetSpec = { format: 'imagefolder', count: 12, imageBytes: 3000, classes: 3, seed: 7 };

test('imagefolder: train/class-NN/NNNNN.png, balanced classes, each PNG near the target size', async () => {
  const out = join(dir, 'folder');
  const progress: number[] = [];
  const result = await generateDataset(folderSpec, localSink(out), (done, total) => {
    assert.equal(total, 12);
    progress.push(done);
  });
  assert.deepEqual(progress, Array.from({ length: 12 }, (_, i) => i + 1));
  const files = filesUnder(out);
  assert.deepEqual(files, [...result.files].sort());
  assert.deepEqual(files.slice(0, 4), ['train/class-00/00000.png', 'train/class-00/00003.png', 'train/class-00/00006.png', 'train/class-00/00009.png']);
  assert.deepEqual(readdirSync(join(out, 'train')), ['class-00', 'class-01', 'class-02']);
  let total = 0;
  for (const f of files) {
    const size = statSync(join(out, f)).size;
    total += size;
    assert.ok(Math.abs(size - 3000) < 300, `${f}: ${size} bytes`);
    assert.ok(decodeImage(readFileSync(join(out, f))).width > 8);
  }
  assert.equal(result.bytes, total);
});

test('the same seed gives the same bytes; another seed other bytes', async () => {
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  const c = join(dir, 'c');
  await generateDataset(folderSpec, localSink(a));
  await generateDataset(folderSpec, localSink(b));
  await generateDataset({ ...folderSpec, seed: 8 }, localSink(c));
  for (const f of filesUnder(a)) {
    assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), f);
    assert.ok(!readFileSync(join(a, f)).equals(readFileSync(join(c, f))), f);
  }
});

test('tfrecord: shards of Examples whose labels, sizes and images read back through the CRC-checking reader', async () => {
  const out = join(dir, 'records');
  const result = await generateDataset({ format: 'tfrecord', count: 10, imageBytes: 2000, classes: 4, shards: 3 }, localSink(out));
  assert.deepEqual(result.files, ['train-00000-of-00003.tfrecord', 'train-00001-of-00003.tfrecord', 'train-00002-of-00003.tfrecord']);
  const labels: number[] = [];
  for (const f of result.files) {
    for await (const record of readRecords(createReadStream(join(out, f)), { name: f })) {
      const ex = decodeExample(record);
      const img = decodeImage(featureValue(ex, 'image/encoded', 'bytes'));
      assert.equal(featureValue(ex, 'image/width', 'int64'), img.width);
      assert.equal(featureValue(ex, 'image/height', 'int64'), img.height);
      assert.equal(featureValue(ex, 'image/format', 'bytes').toString(), 'png');
      labels.push(featureValue(ex, 'image/class/label', 'int64'));
    }
  }
  assert.deepEqual(labels, [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]);
});

test('bad specs are refused naming the field', async () => {
  const sink = localSink(join(dir, 'never'));
  await assert.rejects(generateDataset({ ...folderSpec, count: 0 }, sink), /count must be a whole number of at least 1, not 0/);
  await assert.rejects(generateDataset({ ...folderSpec, classes: 13 }, sink), /classes \(13\) must not exceed count \(12\)/);
  await assert.rejects(generateDataset({ ...folderSpec, shards: 2 }, sink), /shards apply to the tfrecord format only/);
  await assert.rejects(generateDataset({ ...folderSpec, imageBytes: 100 }, sink), /image size in bytes must be a whole number of at least 512/);
  await assert.rejects(localSink(dir).put('../escape', Buffer.alloc(1)), /not a relative path inside the dataset/);
});

test('S3: the same files under the prefix, byte for byte, written in parallel', async () => {
  await s3.createBucket('datasets');
  const spec: DatasetSpec = { ...folderSpec, count: 40, classes: 4 };
  const sink = s3Sink({ bucket: 'datasets', prefix: 'synthetic/v1/', endpoint: s3.endpoint, accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY, pathStyle: true });
  assert.equal(sink.location, 's3://datasets/synthetic/v1');
  const result = await generateDataset(spec, sink);
  const local = join(dir, 'for-s3');
  await generateDataset(spec, localSink(local));
  const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: 'datasets', Prefix: 'synthetic/v1/' }));
  assert.deepEqual((listed.Contents ?? []).map((o) => o.Key).sort(), result.files.map((f) => `synthetic/v1/${f}`).sort());
  for (const f of result.files.slice(0, 5)) {
    const got = await s3.client.send(new GetObjectCommand({ Bucket: 'datasets', Key: `synthetic/v1/${f}` }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(readFileSync(join(local, f))), f);
  }
});

test('S3: a missing bucket is NOT_FOUND, an unknown key id PERMISSION_DENIED', async () => {
  const spec: DatasetSpec = { ...folderSpec, count: 3 };
  const base = { endpoint: s3.endpoint, secretAccessKey: S3RVER_KEY, pathStyle: true };
  await assert.rejects(generateDataset(spec, s3Sink({ ...base, bucket: 'no-such-bucket', accessKeyId: S3RVER_KEY })), (e: unknown) => StrataError.isCode(e, 'NOT_FOUND'));
  await assert.rejects(generateDataset(spec, s3Sink({ ...base, bucket: 'datasets', accessKeyId: 'WRONG' })), (e: unknown) => StrataError.isCode(e, 'PERMISSION_DENIED'));
});
