/**
 * The S3 connector against a real S3 server (s3rver): the shared conformance suite with a small
 * read part size (so ranges cross parts), then what only S3 has: folder markers, multipart
 * uploads, batched deletes, option names, and the errors of bad credentials, a missing bucket and
 * a server that is down.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { StrataError } from '../../src/common/errors.js';
import { parseS3Options, parseS3Uri } from '../../src/ufs/s3-options.js';
import { S3UnderFileSystem } from '../../src/ufs/s3.js';
import { createUfs } from '../../src/ufs/registry.js';
import { freePort } from '../helpers/cli.js';
import { S3RVER_KEY, startS3rver, type S3Server } from '../helpers/s3rver.js';
import { S3WriteStream } from '../../src/ufs/s3-write-stream.js';
import { readAll, ufsConformanceSuite } from './conformance.js';
import { startThrottleProxy } from '../../src/bench/throttle-proxy.js';

const PART = 256 << 10;
let server: S3Server;
let runs = 0;

before(async () => {
  server = await startS3rver();
  await server.createBucket('conformance');
  await server.createBucket('specific');
});
after(async () => {
  await server?.stop();
});

function keyOf(uri: string): { Bucket: string; Key: string } {
  const { bucket, key } = parseS3Uri(uri);
  return { Bucket: bucket, Key: key };
}

describe('UFS conformance on S3 (s3rver)', () => {
  ufsConformanceSuite(async () => {
    const ufs = createUfs('s3://conformance/', server.options({ 's3.read.part.size': String(PART), 's3.read.concurrency': '3', 's3.upload.part.size': '5MB' }));
    return {
      ufs,
      partSize: PART,
      async freshFolder() {
        const uri = `s3://conformance/run${runs++}`;
        await ufs.mkdirs(uri);
        return uri;
      },
      async putDirect(uri, data) {
        await server.client.send(new PutObjectCommand({ ...keyOf(uri), Body: data }));
      },
      async close() {
        await ufs.close?.();
      },
    };
  });
});

describe('S3 specifics', () => {
  let ufs: S3UnderFileSystem;
  before(() => {
    ufs = new S3UnderFileSystem('s3://specific', server.options({ 's3.upload.part.size': '5MB', 's3.upload.concurrency': '2' }));
  });
  after(async () => {
    await ufs?.close();
  });

  test('mkdirs writes a zero-byte "dir/" marker; a marker alone is an empty folder', async () => {
    await ufs.mkdirs('s3://specific/markers/empty');
    const head = await server.client.send(new HeadObjectCommand({ Bucket: 'specific', Key: 'markers/empty/' }));
    assert.equal(head.ContentLength, 0);
    await server.client.send(new PutObjectCommand({ Bucket: 'specific', Key: 'markers/by-hand/', Body: '', ContentLength: 0 }));
    assert.equal((await ufs.getStatus('s3://specific/markers/by-hand'))?.folder, true);
    const list = (await ufs.listStatus('s3://specific/markers'))!;
    assert.deepEqual(list.map((s) => [s.name, s.folder]).sort(), [['by-hand', true], ['empty', true]]);
  });

  test('the bucket root is a folder', async () => {
    await server.client.send(new PutObjectCommand({ Bucket: 'specific', Key: 'at-root.txt', Body: 'r' }));
    const st = await ufs.getStatus('s3://specific');
    assert.equal(st?.folder, true);
    const list = (await ufs.listStatus('s3://specific/'))!;
    assert.ok(list.some((s) => s.name === 'at-root.txt' && !s.folder && s.length === 1));
  });

  test('a file over the upload part size is a multipart upload, read back whole', async () => {
    // Record the calls the upload makes, on a client of our own (the server stays real).
    const client = new S3Client({ region: 'us-east-1', endpoint: server.endpoint, forcePathStyle: true, credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY } });
    const calls: string[] = [];
    client.middlewareStack.add((next, context) => (args) => {
      calls.push(context.commandName ?? '?');
      return next(args);
    }, { step: 'initialize' });
    const data = randomBytes(12 * 1024 * 1024 + 5);
    const out = new S3WriteStream({ client, bucket: 'specific', key: 'big/multi.bin', partSize: 5 << 20, queueSize: 2, statusAfter: async () => (await ufs.getStatus('s3://specific/big/multi.bin'))! });
    for (let i = 0; i < data.length; i += 1 << 20) await out.write(data.subarray(i, i + (1 << 20)));
    assert.equal(await ufs.getStatus('s3://specific/big/multi.bin'), null, 'invisible until closed');
    const st = await out.close();
    client.destroy();
    assert.equal(st.length, data.length);
    assert.deepEqual(calls.sort(), ['CompleteMultipartUploadCommand', 'CreateMultipartUploadCommand', 'UploadPartCommand', 'UploadPartCommand', 'UploadPartCommand']);
    const got = await server.client.send(new GetObjectCommand({ Bucket: 'specific', Key: 'big/multi.bin' }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(data));
  });

  test('recursive delete of 1,500 keys deletes them all (DeleteObjects in batches of 1000)', async () => {
    const keys = Array.from({ length: 1500 }, (_, i) => `many/d${i % 3}/k${i}`);
    const todo = [...keys];
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let k = todo.pop(); k; k = todo.pop()) await server.client.send(new PutObjectCommand({ Bucket: 'specific', Key: k, Body: 'x' }));
      }),
    );
    await ufs.delete('s3://specific/many', { recursive: true });
    const left = await server.client.send(new ListObjectsV2Command({ Bucket: 'specific', Prefix: 'many/' }));
    assert.equal(left.KeyCount ?? 0, 0);
  });

  test('option names: Alluxio names and short names give the same settings; unknown keys are refused by name', () => {
    const alluxio = parseS3Options({
      'aws.accessKeyId': 'A',
      'aws.secretAccessKey': 'S',
      'alluxio.underfs.s3.endpoint': 'http://127.0.0.1:1',
      'alluxio.underfs.s3.endpoint.region': 'eu-west-1',
      'alluxio.underfs.s3.disable.dns.buckets': 'true',
    });
    const short = parseS3Options({ 'aws.accessKeyID': 'A', 'aws.secretKey': 'S', 's3.endpoint': 'http://127.0.0.1:1', 's3.region': 'eu-west-1', 's3.path.style': 'true' });
    assert.deepEqual(alluxio, short);
    assert.equal(short.forcePathStyle, true);
    assert.equal(short.region, 'eu-west-1');
    const tuned = parseS3Options({ 's3.read.part.size': '4MB', 's3.read.concurrency': '6', 's3.connect.timeout': '2s', 's3.request.timeout': '30s', 's3.max.retries': '5', 's3.max.connections': '16' });
    assert.deepEqual([tuned.readPartSize, tuned.readConcurrency, tuned.connectTimeoutMs, tuned.requestTimeoutMs, tuned.maxRetries, tuned.maxConnections], [4 << 20, 6, 2000, 30_000, 5, 16]);
    assert.equal(parseS3Options({ 'alluxio.underfs.s3.connections.max': '32' }).maxConnections, 32);
    assert.throws(() => parseS3Options({ 's3.max.connections': '0' }), (e: unknown) => StrataError.isCode(e, 'INVALID_ARGUMENT') && /s3\.max\.connections/.test((e as Error).message));
    assert.throws(() => createUfs('s3://specific', { 's3.endpont': 'http://x' }), (e: unknown) => StrataError.isCode(e, 'INVALID_ARGUMENT') && /s3\.endpont/.test((e as Error).message));
    assert.throws(() => parseS3Options({ 's3.read.concurrency': 'many' }), (e: unknown) => StrataError.isCode(e, 'INVALID_ARGUMENT'));
    assert.throws(() => parseS3Options({ 'aws.accessKeyId': 'only-the-id' }), (e: unknown) => StrataError.isCode(e, 'INVALID_ARGUMENT'));
    assert.throws(() => parseS3Uri('s3://ab/x'), (e: unknown) => StrataError.isCode(e, 'INVALID_ARGUMENT'));
  });

  test('a wrong access key id is PERMISSION_DENIED naming the address', async () => {
    const bad = new S3UnderFileSystem('s3://specific', server.options({ 'aws.accessKeyID': 'NOT-A-KEY' }));
    try {
      await assert.rejects(bad.checkMount('s3://specific/markers'), (e: unknown) => StrataError.isCode(e, 'PERMISSION_DENIED') && /s3:\/\/specific/.test((e as Error).message));
      await assert.rejects(bad.getStatus('s3://specific/markers/empty'), (e: unknown) => StrataError.isCode(e, 'PERMISSION_DENIED'));
      await server.client.send(new PutObjectCommand({ Bucket: 'specific', Key: 'denied.bin', Body: 'secret' }));
      await assert.rejects(bad.openRange('s3://specific/denied.bin', 0, 6), (e: unknown) => StrataError.isCode(e, 'PERMISSION_DENIED') && /GetObject s3:\/\/specific\/denied\.bin/.test((e as Error).message));
    } finally {
      await bad.close();
    }
  });

  test('a missing bucket is NOT_FOUND naming the bucket', async () => {
    const missing = new S3UnderFileSystem('s3://no-such-bucket', server.options());
    try {
      await assert.rejects(missing.checkMount('s3://no-such-bucket/x'), (e: unknown) => StrataError.isCode(e, 'NOT_FOUND') && /no-such-bucket/.test((e as Error).message));
      await assert.rejects(missing.listStatus('s3://no-such-bucket/x'), (e: unknown) => StrataError.isCode(e, 'NOT_FOUND'));
    } finally {
      await missing.close();
    }
  });

  test('a server that is down is UNAVAILABLE after the retries, within seconds', async () => {
    const port = await freePort();
    const down = new S3UnderFileSystem('s3://specific', server.options({ 's3.endpoint': `http://127.0.0.1:${port}`, 's3.max.retries': '2' }));
    try {
      const started = Date.now();
      await assert.rejects(down.checkMount('s3://specific'), (e: unknown) => StrataError.isCode(e, 'UNAVAILABLE') && /3 attempts/.test((e as Error).message));
      await assert.rejects(down.getStatus('s3://specific/a'), (e: unknown) => StrataError.isCode(e, 'UNAVAILABLE'));
      await assert.rejects(down.openRange('s3://specific/a', 0, 10), (e: unknown) => StrataError.isCode(e, 'UNAVAILABLE') && /3 attempts/.test((e as Error).message));
      assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    } finally {
      await down.close();
    }
  });

  test('a folder whose children are all folders lists them (s3rver leaves them out of a delimiter listing)', async () => {
    const keys = ['nested/a/b/x', 'nested/a/b/y', 'nested/c/d/e/z', 'nested/c/d/e/w', 'nested/f/g/h/i/j'];
    for (const Key of keys) await server.client.send(new PutObjectCommand({ Bucket: 'specific', Key, Body: 'n' }));
    const list = (await ufs.listStatus('s3://specific/nested'))!;
    assert.deepEqual(list.map((e) => [e.name, e.folder]).sort(), [['a', true], ['c', true], ['f', true]]);
    assert.deepEqual((await ufs.listStatus('s3://specific/nested/c'))!.map((e) => [e.name, e.folder]), [['d', true]]);
    assert.equal(await ufs.listStatus('s3://specific/nested/none'), null);
    // Keys that sort after the skip past a folder (U+FF71 is above U+DBFF in s3rver's UTF-16 order).
    for (const Key of ['weird/a/1', 'weird/a/\uFF71.png', 'weird/a/\uFFFD', 'weird/b/1']) await server.client.send(new PutObjectCommand({ Bucket: 'specific', Key, Body: 'w' }));
    assert.deepEqual((await ufs.listStatus('s3://specific/weird'))!.map((e) => [e.name, e.folder]).sort(), [['a', true], ['b', true]]);
  });

  test('reads of keys with spaces, reserved and non-ASCII characters get their bytes; a missing key is NOT_FOUND', async () => {
    const keys = ['odd/a b+c&d=e.bin', "odd/!'()*,;@$.bin", 'odd/percent %25 sign.bin', 'odd/ünïcødé/日本.bin', 'odd/tilde~dash-under_score.bin'];
    for (const [i, Key] of keys.entries()) await server.client.send(new PutObjectCommand({ Bucket: 'specific', Key, Body: `content ${i} of ${Key}` }));
    for (const [i, key] of keys.entries()) {
      const want = `content ${i} of ${key}`;
      assert.equal(await text(await ufs.openRange(`s3://specific/${key}`, 0, Buffer.byteLength(want))), want, key);
      assert.equal(await text(await ufs.openRange(`s3://specific/${key}`, 8, 3)), want.slice(8, 11), key);
    }
    await assert.rejects(ufs.openRange('s3://specific/odd/missing.bin', 0, 4), (e: unknown) => StrataError.isCode(e, 'NOT_FOUND') && /odd\/missing\.bin/.test((e as Error).message));
  });

  test('reads share at most s3.max.connections connections to the endpoint', async () => {
    // A proxy with latency in front of the server counts the connections the reads open.
    const proxy = await startThrottleProxy({ host: '127.0.0.1', port: server.port }, { latencyMs: 30, bytesPerSecond: Infinity });
    const bodies = Array.from({ length: 12 }, (_, i) => randomBytes(1000 + i));
    for (const [i, Body] of bodies.entries()) await server.client.send(new PutObjectCommand({ Bucket: 'specific', Key: `conns/${i}`, Body }));
    const readEach = async (maxConnections: string) => {
      const ufs = new S3UnderFileSystem('s3://specific', server.options({ 's3.endpoint': proxy.endpoint, 's3.max.connections': maxConnections }));
      try {
        const before = proxy.stats().connections;
        const got = await Promise.all(bodies.map(async (b, i) => readAll(await ufs.openRange(`s3://specific/conns/${i}`, 0, b.length))));
        got.forEach((g, i) => assert.ok(g.equals(bodies[i]!), `object ${i}`));
        return proxy.stats().connections - before;
      } finally {
        await ufs.close();
      }
    };
    try {
      assert.equal(await readEach('3'), 3);
      assert.equal(await readEach('128'), bodies.length);
    } finally {
      await proxy.close();
    }
  });

  test('a throttled or failing GET is retried with backoff; one that keeps failing is UNAVAILABLE after the retries', async () => {
    await server.client.send(new PutObjectCommand({ Bucket: 'specific', Key: 'throttled.bin', Body: 'worth the wait' }));
    const proxy = await faultyProxy(server.port);
    const flaky = new S3UnderFileSystem('s3://specific', server.options({ 's3.endpoint': `http://127.0.0.1:${proxy.port}`, 's3.max.retries': '2' }));
    try {
      proxy.failNext(['SlowDown', 503], ['InternalError', 500]);
      assert.equal(await text(await flaky.openRange('s3://specific/throttled.bin', 0, 14)), 'worth the wait');
      assert.equal(proxy.gets, 3, 'two failed attempts, then the answer');
      proxy.failNext(['SlowDown', 503], ['SlowDown', 503], ['SlowDown', 503]);
      await assert.rejects(flaky.openRange('s3://specific/throttled.bin', 0, 14), (e: unknown) => StrataError.isCode(e, 'UNAVAILABLE') && /3 attempts/.test((e as Error).message) && /SlowDown/.test((e as Error).message));
      proxy.failNext(['AccessDenied', 403]);
      const before = proxy.gets;
      await assert.rejects(flaky.openRange('s3://specific/throttled.bin', 0, 14), (e: unknown) => StrataError.isCode(e, 'PERMISSION_DENIED'));
      assert.equal(proxy.gets - before, 1, 'a refusal is not retried');
      // As the SDK's standard mode: a 400 RequestTimeout is tried again, a 501 is not.
      proxy.failNext(['RequestTimeout', 400]);
      assert.equal(await text(await flaky.openRange('s3://specific/throttled.bin', 0, 5)), 'worth');
      const at501 = proxy.gets;
      proxy.failNext(['NotImplemented', 501]);
      await assert.rejects(flaky.openRange('s3://specific/throttled.bin', 0, 5));
      assert.equal(proxy.gets - at501, 1, 'a 501 is not retried');
    } finally {
      await flaky.close();
      await proxy.close();
    }
  });
});

const text = async (stream: AsyncIterable<Buffer>): Promise<string> => (await readAll(stream)).toString();

/** A proxy in front of the real server that answers the next GETs with S3 errors, then forwards again. */
async function faultyProxy(target: number): Promise<{ port: number; gets: number; failNext(...faults: Array<[string, number]>): void; close(): Promise<void> }> {
  const faults: Array<[string, number]> = [];
  const state = {
    port: 0,
    gets: 0,
    failNext: (...f: Array<[string, number]>) => void faults.push(...f),
    close: () => new Promise<void>((resolve) => {
      proxy.close(() => resolve());
      proxy.closeAllConnections();
    }),
  };
  const proxy = createServer((req, res) => {
    if (req.method === 'GET') state.gets++;
    const fault = req.method === 'GET' ? faults.shift() : undefined;
    if (fault) {
      res.writeHead(fault[1], { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${fault[0]}</Code><Message>injected</Message></Error>`);
      return;
    }
    const up = httpRequest({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  proxy.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  state.port = (proxy.address() as AddressInfo).port;
  return state;
}
