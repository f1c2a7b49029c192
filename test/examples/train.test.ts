/**
 * The TensorFlow.js training loop on a real local cluster and FUSE mount: TFRecord shards and an
 * ImageFolder copied into Strata, read through the mount for several epochs, checkpoints written
 * through the mount and seen by `strata fs`, a checkpoint that loads, and a corrupted shard
 * refused with its offset.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateDataset, localSink } from '../../src/datasets/generate.js';
import { FuseEnv } from '../helpers/fuse.js';
import { epochLines, runExample, SOURCE_EXAMPLES } from '../helpers/examples.js';

let f: FuseEnv;
before(async () => {
  f = await FuseEnv.create({ props: { 'strata.user.file.writetype.default': 'MUST_CACHE' } });
  const records = join(f.env.dir, 'shapes-tfrecord');
  await generateDataset({ format: 'tfrecord', count: 96, imageBytes: 2048, classes: 4, shards: 4 }, localSink(records));
  const images = join(f.env.dir, 'shapes');
  await generateDataset({ format: 'imagefolder', count: 32, imageBytes: 2048, classes: 4 }, localSink(images));
  for (const [local, strata] of [[records, '/datasets/shapes-tfrecord'], [images, '/datasets/shapes']]) {
    const copy = await f.env.run(['fs', 'copyFromLocal', local!, strata!]);
    assert.equal(copy.code, 0, copy.stderr);
  }
});
after(async () => {
  await f?.cleanup();
});

test('TFRecord shards from the mount: three epochs with time and images/s, loss falling, checkpoints in Strata', async () => {
  const r = await runExample('train', ['--data_dir', f.path('datasets/shapes-tfrecord'), '--epochs', '3', '--checkpoint_dir', f.path('checkpoints/tf')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Training on .*shapes-tfrecord: tfrecord, 4 files, 4 classes, batches of 16, 16x16 inputs$/m);
  const epochs = epochLines(r.stdout);
  assert.deepEqual(epochs.map((e) => [e.epoch, e.epochs, e.images]), [[1, 3, 96], [2, 3, 96], [3, 3, 96]]);
  for (const e of epochs) assert.ok(e.imagesPerSecond > 0 && e.seconds > 0);
  assert.match(r.stdout, /; reading [\d.]+ s, training [\d.]+ s$/m);
  assert.ok(epochs[2]!.loss < epochs[0]!.loss, `loss falls: ${epochs.map((e) => e.loss)}`);
  assert.ok(epochs[2]!.accuracy > 0.5, `above chance (0.25): ${epochs[2]!.accuracy}`);

  const ls = await f.env.run(['fs', 'ls', '-R', '/checkpoints/tf']);
  assert.equal(ls.code, 0, ls.stderr);
  for (const e of ['001', '002', '003']) {
    for (const file of ['model.json', 'weights.bin']) assert.match(ls.stdout, new RegExp(`\\s[1-9]\\d* .* /checkpoints/tf/epoch-${e}/${file.replace('.', '\\.')}$`, 'm'));
  }
  assert.equal((await f.env.run(['fs', 'cat', '/checkpoints/tf/checkpoint'])).stdout, 'epoch-003\n');
  // The last checkpoint is a model that loads and predicts (4 classes, so 4 predictions).
  const classify = await runExample('classify', ['--model_dir', f.path('checkpoints/tf/epoch-003'), '--image_file', join(SOURCE_EXAMPLES, 'data', 'class-00.png')]);
  assert.equal(classify.code, 0, classify.stderr);
  assert.equal(classify.stdout.trim().split('\n').length, 4, classify.stdout);
});

test('an ImageFolder from the mount trains too', async () => {
  const r = await runExample('train', ['--data_dir', f.path('datasets/shapes'), '--epochs', '1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /imagefolder, 32 files, 4 classes/);
  assert.deepEqual(epochLines(r.stdout).map((e) => e.images), [32]);
});

test('a corrupted shard on the mount stops training with the file and the record offset', async () => {
  const shard = readFileSync(join(f.env.dir, 'shapes-tfrecord', 'train-00000-of-00004.tfrecord'));
  const recordLength = Number(shard.readBigUInt64LE(0));
  const second = 12 + recordLength + 4;
  shard[second + 12 + 100]! ^= 0xff; // a byte inside the second record's data
  mkdirSync(f.path('corrupt'));
  writeFileSync(f.path('corrupt/bad-shard.tfrecord'), shard);
  const r = await runExample('train', ['--data_dir', f.path('corrupt'), '--epochs', '1', '--classes', '4']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`bad-shard\\.tfrecord: data CRC mismatch .*\\(record at byte offset ${second}\\)`));
});
