/**
 * The seed walk's S3 part, with real processes: s3rver, `strata local start`, and the real
 * `strata fs` commands. Mount errors (wrong key id, missing bucket, server down, unknown option)
 * fail with their exit codes and record nothing; a mount with credentials lists like the SDK does
 * (names and sizes, past 1000 keys), reads cache to 100%, CACHE_THROUGH writes land in the bucket,
 * sync interval 0 notices a replaced object; secrets never show; the metadata store is private.
 * The FUSE mount's `ls -l` shows the same names and sizes too (the seed's three-way check).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { CliEnv, freePort } from '../helpers/cli.js';
import { sh } from '../helpers/fuse.js';
import { S3RVER_KEY, startS3rver, type S3Server } from '../helpers/s3rver.js';

let s3: S3Server;
let env: CliEnv;
const BUCKET = 'training';
const MOUNT = '/training-data/imagenet';
const URI = `s3://${BUCKET}/imagenet`;
const MANY = 1100;
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
const LS_LINE = /^([-d][-rwx]{9}) {2}(\S+)\s+(\S+)\s+(\d+)\s+(NOT_PERSISTED|TO_BE_PERSISTED|PERSISTED|LOST) (\S+ \S+)\s+(\d+%|DIR) (\/\S*)$/;

function ls(stdout: string): Map<string, { size: number; state: string; cached: string }> {
  const out = new Map<string, { size: number; state: string; cached: string }>();
  for (const line of stdout.split('\n').filter(Boolean)) {
    const m = LS_LINE.exec(line);
    assert.ok(m, `ls line: ${JSON.stringify(line)}`);
    out.set(m[8]!, { size: Number(m[4]), state: m[5]!, cached: m[7]! });
  }
  return out;
}

/** name -> size of the files directly under a prefix, by the SDK's own paginated listing. */
async function sdkListing(prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let token: string | undefined;
  do {
    const r = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, Delimiter: '/', ContinuationToken: token }));
    for (const o of r.Contents ?? []) if (o.Key !== prefix) out.set(o.Key!.slice(prefix.length), o.Size!);
    for (const p of r.CommonPrefixes ?? []) out.set(p.Prefix!.slice(prefix.length, -1), 0);
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** name -> size; a folder counts 0, as in the SDK listing (ls prints its number of children). */
function strataListing(stdout: string, dir: string): Map<string, number> {
  return new Map([...ls(stdout)].map(([path, e]) => [path.slice(dir.length + 1), e.cached === 'DIR' ? 0 : e.size]));
}

const put = (key: string, body: Buffer | string) => s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
const mountArgs = (uri: string, opts: Record<string, string>) => ['fs', 'mount', MOUNT, uri, ...Object.entries(opts).flatMap(([k, v]) => ['--option', `${k}=${v}`])];
let model: Buffer;

before(async () => {
  s3 = await startS3rver();
  await s3.createBucket(BUCKET);
  model = randomBytes(20 * 1000 * 1000);
  await put('imagenet/inception-2015-12-05.tgz', model);
  await put('imagenet/labels.txt', 'cat\ndog\n');
  const todo = Array.from({ length: MANY }, (_, i) => `imagenet/many/img-${String(i).padStart(5, '0')}.jpg`);
  await Promise.all(Array.from({ length: 16 }, async () => {
    for (let k = todo.pop(); k; k = todo.pop()) await put(k, randomBytes(100 + (k.length % 50)));
  }));
  env = await CliEnv.create();
  const r = await env.run(['local', 'start']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await env.run(['fs', 'mkdir', '/training-data'])).code, 0);
});

after(async () => {
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const target = line.split(' ')[1];
    if (env && target?.startsWith(`${env.dir}/`)) await sh(`umount -l ${target}`);
  }
  await env?.run(['local', 'stop']);
  await env?.cleanup();
  await s3?.stop();
});

test('a wrong access key id: permission denied naming the mount, exit 6, nothing mounted', async () => {
  const r = await env.run(mountArgs(URI, s3.options({ 'aws.accessKeyID': 'WRONGKEY', 'aws.secretKey': 'whatever' })));
  assert.equal(r.code, 6, r.stderr);
  assert.match(r.stderr, /training-data\/imagenet/);
  assert.match(r.stderr, /s3:\/\/training\/imagenet/);
  assert.match(r.stderr, /[Pp]ermission denied/);
  assert.doesNotMatch(r.stderr, /whatever/, 'the secret is not echoed');
  assert.doesNotMatch((await env.run(['fs', 'mount'])).stdout, /s3:/);
});

test('a missing bucket: not found (exit 3); a server that is down: unavailable (exit 9) within seconds', async () => {
  const missing = await env.run(mountArgs('s3://no-such-bucket/x', s3.options()));
  assert.equal(missing.code, 3, missing.stderr);
  assert.match(missing.stderr, /no-such-bucket/);
  const port = await freePort();
  const down = await env.run(mountArgs(URI, s3.options({ 's3.endpoint': `http://127.0.0.1:${port}` })));
  assert.equal(down.code, 9, down.stderr);
  assert.match(down.stderr, /unavailable/i);
  assert.ok(down.ms < 15_000, `took ${down.ms} ms`);
  const unknown = await env.run(mountArgs(URI, s3.options({ 's3.endpiont': 'http://x' })));
  assert.equal(unknown.code, 2, unknown.stderr);
  assert.match(unknown.stderr, /s3\.endpiont/);
  assert.doesNotMatch((await env.run(['fs', 'mount'])).stdout, /s3:/);
  assert.equal((await env.run(['fs', 'ls', MOUNT])).code, 3, 'no folder was left behind');
});

test('mount with credentials under Alluxio names; fs mount lists it with secrets redacted; metadata store is 0600', async () => {
  const opts = {
    'aws.accessKeyID': S3RVER_KEY,
    'aws.secretKey': 'SECRET-NOT-CHECKED-BY-S3RVER',
    'alluxio.underfs.s3.endpoint': s3.endpoint,
    'alluxio.underfs.s3.endpoint.region': 'us-east-1',
    'alluxio.underfs.s3.disable.dns.buckets': 'true',
  };
  const r = await env.run(mountArgs(URI, opts));
  assert.equal(r.code, 0, r.stderr);
  const list = await env.run(['fs', 'mount']);
  const line = list.stdout.split('\n').find((l) => l.includes(URI));
  assert.ok(line, list.stdout);
  assert.match(line, new RegExp(`on  ${MOUNT}  \\(s3,`));
  assert.match(line, /aws\.secretKey=\*{6}/);
  assert.match(line, /alluxio\.underfs\.s3\.endpoint=http:\/\/127\.0\.0\.1/);
  assert.doesNotMatch(list.stdout, /SECRET-NOT-CHECKED/);
  assert.doesNotMatch(list.stdout, new RegExp(`=${S3RVER_KEY}\\b`));
  const db = join(env.workDir, 'metastore', 'metadata.db');
  assert.equal(statSync(db).mode & 0o777, 0o600);
  assert.equal(statSync(join(env.workDir, 'metastore')).mode & 0o077, 0, 'the store folder is private too');
});

test('fs ls shows the names and sizes of the SDK listing, past 1000 keys in one prefix', async () => {
  const top = await env.run(['fs', 'ls', MOUNT]);
  assert.equal(top.code, 0, top.stderr);
  assert.deepEqual(strataListing(top.stdout, MOUNT), await sdkListing('imagenet/'));
  const many = await env.run(['fs', 'ls', `${MOUNT}/many`]);
  assert.equal(many.code, 0, many.stderr);
  const strata = strataListing(many.stdout, `${MOUNT}/many`);
  assert.equal(strata.size, MANY);
  assert.deepEqual(strata, await sdkListing('imagenet/many/'));
  const entry = ls(top.stdout).get(`${MOUNT}/inception-2015-12-05.tgz`)!;
  assert.deepEqual([entry.size, entry.state, entry.cached], [model.length, 'PERSISTED', '0%']);
});

test('three ways agree: the SDK listing, strata fs ls and ls -l on the FUSE mount', async () => {
  const mnt = join(env.dir, 'mnt');
  const mounted = await env.run(['fuse', 'mount', mnt, MOUNT]);
  assert.equal(mounted.code, 0, mounted.stderr);
  try {
    for (const sub of ['', 'many']) {
      const prefix = sub ? `imagenet/${sub}/` : 'imagenet/';
      const sdk = await sdkListing(prefix);
      const fsLs = strataListing((await env.run(['fs', 'ls', sub ? `${MOUNT}/${sub}` : MOUNT])).stdout, sub ? `${MOUNT}/${sub}` : MOUNT);
      const r = await sh(`ls -l ${join(mnt, sub)}`);
      assert.equal(r.code, 0, r.stderr);
      const fuse = new Map(
        r.stdout.trim().split('\n').slice(1).map((line) => {
          const p = line.split(/\s+/);
          return [p.slice(8).join(' '), p[0]!.startsWith('d') ? 0 : Number(p[4])] as const;
        }),
      );
      assert.deepEqual(fuse, sdk, `ls -l of ${prefix}`);
      assert.deepEqual(fsLs, sdk, `fs ls of ${prefix}`);
    }
    const cat = await sh(`md5sum < ${join(mnt, 'inception-2015-12-05.tgz')}`);
    assert.equal(cat.stdout.split(' ')[0], md5(model));
  } finally {
    await env.run(['fuse', 'umount', '-f', mnt]);
  }
});

test('a read under CACHE gets the right bytes and caches the file to 100%; fs free drops it', async () => {
  const path = `${MOUNT}/inception-2015-12-05.tgz`;
  const sum = await env.run(['fs', 'checksum', path]);
  assert.equal(sum.stdout.trim(), `md5sum: ${md5(model)}`);
  assert.equal(ls((await env.run(['fs', 'ls', path])).stdout).get(path)!.cached, '100%');
  assert.equal((await env.run(['fs', 'free', path])).code, 0);
  assert.equal(ls((await env.run(['fs', 'ls', path])).stdout).get(path)!.cached, '0%');
});

test('CACHE_THROUGH writes land in the bucket (multipart above the part size)', async () => {
  const data = randomBytes(40 * 1000 * 1000);
  const local = join(env.dir, 'upload.bin');
  writeFileSync(local, data);
  const r = await env.run(['fs', 'copyFromLocal', local, `${MOUNT}/out/upload.bin`, '--conf', 'strata.user.file.writetype.default=CACHE_THROUGH']);
  assert.equal(r.code, 0, r.stderr);
  const head = await s3.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'imagenet/out/upload.bin' }));
  assert.equal(head.ContentLength, data.length);
  const got = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'imagenet/out/upload.bin' }));
  assert.equal(md5(Buffer.from(await got.Body!.transformToByteArray())), md5(data));
  const e = ls((await env.run(['fs', 'ls', `${MOUNT}/out`])).stdout).get(`${MOUNT}/out/upload.bin`)!;
  assert.deepEqual([e.size, e.state, e.cached], [data.length, 'PERSISTED', '100%']);
  assert.equal((await env.run(['fs', 'mkdir', `${MOUNT}/made-here`])).code, 0);
  const marker = await s3.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'imagenet/made-here/' }));
  assert.equal(marker.ContentLength, 0);
});

test('with sync interval 0 a replaced object is noticed and its stale cached blocks dropped', async () => {
  const path = `${MOUNT}/labels.txt`;
  assert.equal((await env.run(['fs', 'cat', path])).stdout, 'cat\ndog\n');
  assert.equal(ls((await env.run(['fs', 'ls', path])).stdout).get(path)!.cached, '100%');
  await new Promise((r) => setTimeout(r, 1100)); // a new mtime second as well as a new ETag
  await put('imagenet/labels.txt', 'owl\nfox\n'); // same size: only the fingerprint tells
  const stale = await env.run(['fs', 'cat', path, '--conf', 'strata.user.file.metadata.sync.interval=-1']);
  assert.equal(stale.stdout, 'cat\ndog\n', 'without a sync the cached copy is served');
  const fresh = await env.run(['fs', 'cat', path, '--conf', 'strata.user.file.metadata.sync.interval=0']);
  assert.equal(fresh.stdout, 'owl\nfox\n');
});

test('the root mount on S3, configured with alluxio.master.mount.table.root.option.*', async () => {
  await s3.createBucket('rootbucket');
  await s3.client.send(new PutObjectCommand({ Bucket: 'rootbucket', Key: 'base/hello.txt', Body: 'hello' }));
  const root = await CliEnv.create({
    'strata.master.mount.table.root.ufs': 's3://rootbucket/base',
    'alluxio.master.mount.table.root.option.aws.accessKeyID': S3RVER_KEY,
    'alluxio.master.mount.table.root.option.aws.secretKey': S3RVER_KEY,
    'alluxio.master.mount.table.root.option.s3.endpoint': s3.endpoint,
    'alluxio.master.mount.table.root.option.s3.path.style': 'true',
  });
  try {
    const r = await root.run(['local', 'start']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(ls((await root.run(['fs', 'ls', '/'])).stdout).get('/hello.txt')?.size, 5);
    assert.equal((await root.run(['fs', 'cat', '/hello.txt'])).stdout, 'hello');
    const local = join(root.dir, 'w.txt');
    writeFileSync(local, 'written through');
    const w = await root.run(['fs', 'copyFromLocal', local, '/dir/w.txt', '--conf', 'strata.user.file.writetype.default=THROUGH']);
    assert.equal(w.code, 0, w.stderr);
    const got = await s3.client.send(new GetObjectCommand({ Bucket: 'rootbucket', Key: 'base/dir/w.txt' }));
    assert.equal(await got.Body!.transformToString(), 'written through');
  } finally {
    await root.run(['local', 'stop']);
    await root.cleanup();
  }
});
