/**
 * strata bench dataset through the real command: into a local folder and into s3rver with
 * --option credentials, and bad input refused with exit code 2 (3 for a missing bucket).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { CliEnv } from '../helpers/cli.js';
import { S3RVER_KEY, startS3rver, type S3Server } from '../helpers/s3rver.js';

let env: CliEnv;
let s3: S3Server;
before(async () => {
  env = await CliEnv.create();
  s3 = await startS3rver();
  await s3.createBucket('bench-data');
});
after(async () => {
  await s3?.stop();
  await env?.cleanup();
});

test('imagefolder into a local folder: the files, their size, and a summary line', async () => {
  const out = join(env.dir, 'images');
  const r = await env.run(['bench', 'dataset', '--out', out, '--count', '30', '--size', '4KB', '--classes', '3', '--seed', '5']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^Wrote 30 images \\(3 classes, imagefolder\\) in 30 files, .* to ${out} in \\d+\\.\\d s\\n$`));
  assert.deepEqual(readdirSync(join(out, 'train')), ['class-00', 'class-01', 'class-02']);
  const sizes = readdirSync(join(out, 'train', 'class-01')).map((f) => statSync(join(out, 'train', 'class-01', f)).size);
  assert.equal(sizes.length, 10);
  for (const s of sizes) assert.ok(Math.abs(s - 4096) < 400, `${s} bytes`);
});

test('tfrecord shards into S3 with the mount options', async () => {
  const opts = Object.entries(s3.options()).flatMap(([k, v]) => ['--option', `${k}=${v}`]);
  const r = await env.run(['bench', 'dataset', '--out', 's3://bench-data/tf/', '--count', '20', '--size', '2KB', '--classes', '4', '--format', 'tfrecord', '--shards', '4', ...opts]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /to s3:\/\/bench-data\/tf in/);
  const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: 'bench-data', Prefix: 'tf/' }));
  assert.deepEqual((listed.Contents ?? []).map((o) => o.Key), [0, 1, 2, 3].map((i) => `tf/train-0000${i}-of-00004.tfrecord`));
});

test('bad input: a clear message and a non-zero exit code', async () => {
  const out = join(env.dir, 'bad');
  const cases: Array<[string[], number, RegExp]> = [
    [['--count', '10'], 2, /required option '--out/],
    [['--out', out, '--count', 'ten'], 2, /--count: "ten" is not a whole number/],
    [['--out', out, '--size', 'big'], 2, /--size: "big" is not a size/],
    [['--out', out, '--format', 'jpeg'], 2, /--format: "jpeg" is not one of imagefolder, tfrecord/],
    [['--out', out, '--count', '5', '--classes', '6'], 2, /classes \(6\) must not exceed count \(5\)/],
    [['--out', out, '--shards', '2'], 2, /shards apply to the tfrecord format only/],
    [['--out', out, '--option', 's3.endpoint=http://x'], 2, /--option applies to s3:\/\/ outputs only/],
    [['--out', 'hdfs://nn/data'], 2, /give a local folder or an s3:\/\/bucket\/prefix/],
    [['--out', 's3://B'], 2, /Bucket name "B"/],
    [['--out', 's3://bench-data/x', '--option', 's3.endpont=http://x'], 2, /Unknown S3 option "s3.endpont"/],
    [['--out', 's3://missing-bucket/x', '--count', '10', ...Object.entries(s3.options()).flatMap(([k, v]) => ['--option', `${k}=${v}`])], 3, /NoSuchBucket|not found|does not exist/i],
    [['--out', 's3://bench-data/x', '--count', '10', '--option', `s3.endpoint=${s3.endpoint}`, '--option', 'aws.accessKeyID=NOPE', '--option', `aws.secretKey=${S3RVER_KEY}`, '--option', 's3.path.style=true'], 6, /permission denied/],
  ];
  for (const [args, code, message] of cases) {
    const r = await env.run(['bench', 'dataset', ...args]);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
  }
  assert.throws(() => statSync(out), /ENOENT/, 'nothing written on bad input');
});
