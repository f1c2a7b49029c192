/**
 * One behaviour suite for every UnderFileSystem connector (run by local.test.ts and s3.test.ts).
 * A fixture gives a fresh empty folder per test, and a way to put a file there behind the
 * connector's back (the way a user or another program changes the store).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { StrataError } from '../../src/common/errors.js';
import type { UnderFileSystem } from '../../src/ufs/under-file-system.js';

export interface UfsFixture {
  ufs: UnderFileSystem;
  /** A new, empty folder URI for one test. */
  freshFolder(): Promise<string>;
  /** Writes a file without going through the connector. */
  putDirect(uri: string, data: Buffer): Promise<void>;
  /** Reads range tests use; S3 sets its read part size to this so ranges cross parts. */
  partSize: number;
  close(): Promise<void>;
}

export async function readAll(stream: AsyncIterable<Buffer> | Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) parts.push(c);
  return Buffer.concat(parts);
}

async function writeVia(ufs: UnderFileSystem, uri: string, data: Buffer, chunk = 64 << 10): Promise<void> {
  const out = await ufs.create(uri);
  for (let i = 0; i < data.length; i += chunk) await out.write(data.subarray(i, i + chunk));
  await out.close();
}

const names = (list: Array<{ name: string }> | null): string[] => (list ?? []).map((s) => s.name).sort();

export function ufsConformanceSuite(setup: () => Promise<UfsFixture>): void {
  let f: UfsFixture;
  let ufs: UnderFileSystem;
  before(async () => {
    f = await setup();
    ufs = f.ufs;
  });
  after(async () => {
    await f?.close();
  });

  test('getStatus: a folder is a folder, a file has its size, a missing path is null', async () => {
    const dir = await f.freshFolder();
    const root = await ufs.getStatus(dir);
    assert.equal(root?.folder, true);
    await f.putDirect(ufs.join(dir, 'a.bin'), Buffer.alloc(1234, 7));
    const st = await ufs.getStatus(ufs.join(dir, 'a.bin'));
    assert.equal(st?.folder, false);
    assert.equal(st?.name, 'a.bin');
    assert.equal(st?.length, 1234);
    assert.ok(st!.lastModifiedMs > Date.now() - 600_000 && st!.lastModifiedMs <= Date.now() + 5_000, `mtime ${st!.lastModifiedMs}`);
    assert.ok(st!.fingerprint.length > 0);
    assert.equal(await ufs.getStatus(ufs.join(dir, 'missing')), null);
    assert.equal(await ufs.getStatus(ufs.join(dir, 'missing/deeper')), null);
  });

  test('listStatus: names, sizes and kinds of direct children; null for a missing folder', async () => {
    const dir = await f.freshFolder();
    await f.putDirect(ufs.join(dir, 'one'), Buffer.alloc(1));
    await f.putDirect(ufs.join(dir, 'two'), Buffer.alloc(2));
    // (s3rver 3.7 drops a common prefix whose only keys lie two or more levels below it, which
    // real S3 does not; "sub/three" keeps this test about the connector, not that bug.)
    await f.putDirect(ufs.join(dir, 'sub/three'), Buffer.alloc(3));
    await f.putDirect(ufs.join(dir, 'sub/deep/four'), Buffer.alloc(4));
    const list = (await ufs.listStatus(dir))!;
    assert.deepEqual(names(list), ['one', 'sub', 'two']);
    assert.equal(list.find((s) => s.name === 'two')!.length, 2);
    assert.equal(list.find((s) => s.name === 'sub')!.folder, true);
    assert.deepEqual(names(await ufs.listStatus(ufs.join(dir, 'sub'))), ['deep', 'three']);
    assert.equal(await ufs.listStatus(ufs.join(dir, 'one')), null, 'a file is not a folder');
    assert.equal(await ufs.listStatus(ufs.join(dir, 'nothing')), null);
  });

  test('mkdirs: an empty folder exists, lists empty, and its parents exist', async () => {
    const dir = await f.freshFolder();
    await ufs.mkdirs(ufs.join(dir, 'a/b/c'));
    assert.equal((await ufs.getStatus(ufs.join(dir, 'a/b/c')))?.folder, true);
    assert.deepEqual(await ufs.listStatus(ufs.join(dir, 'a/b/c')), []);
    assert.equal((await ufs.getStatus(ufs.join(dir, 'a')))?.folder, true);
    assert.deepEqual(names(await ufs.listStatus(ufs.join(dir, 'a/b'))), ['c']);
    await ufs.mkdirs(ufs.join(dir, 'a/b/c')); // idempotent
  });

  test('create: the file appears only on close, whole', async () => {
    const dir = await f.freshFolder();
    const uri = ufs.join(dir, 'written.bin');
    const data = randomBytes(3 * f.partSize + 12345);
    const out = await ufs.create(uri);
    await out.write(data.subarray(0, f.partSize));
    assert.equal(await ufs.getStatus(uri), null, 'not visible while being written');
    assert.deepEqual(names(await ufs.listStatus(dir)), []);
    for (let i = f.partSize; i < data.length; i += 100_000) await out.write(data.subarray(i, i + 100_000));
    const status = await out.close();
    assert.equal(status.length, data.length);
    const st = await ufs.getStatus(uri);
    assert.equal(st?.length, data.length);
    assert.equal(st?.fingerprint, status.fingerprint, 'close() reports the status a later getStatus sees');
    assert.ok((await readAll(await ufs.openRange(uri, 0, data.length))).equals(data));
    const empty = ufs.join(dir, 'empty');
    await writeVia(ufs, empty, Buffer.alloc(0));
    assert.equal((await ufs.getStatus(empty))?.length, 0);
  });

  test('abort: nothing appears and an existing file is left as it was', async () => {
    const dir = await f.freshFolder();
    const uri = ufs.join(dir, 'aborted.bin');
    const out = await ufs.create(uri);
    await out.write(randomBytes(f.partSize + 1000));
    await out.abort();
    assert.equal(await ufs.getStatus(uri), null);
    assert.deepEqual(names(await ufs.listStatus(dir)), []);
    await f.putDirect(uri, Buffer.from('old'));
    const again = await ufs.create(uri);
    await again.write(Buffer.from('new content'));
    await again.abort();
    assert.equal((await readAll(await ufs.openRange(uri, 0, 3))).toString(), 'old');
  });

  test('openRange: any range, including ones that cross read parts, has the right bytes', async () => {
    const dir = await f.freshFolder();
    const uri = ufs.join(dir, 'ranges.bin');
    const p = f.partSize;
    const data = randomBytes(5 * p + 777);
    await f.putDirect(uri, data);
    const ranges: Array<[number, number]> = [
      [0, data.length],
      [0, 1],
      [p - 1, 2],
      [p - 10, p + 20],
      [1, 3 * p],
      [2 * p, 2 * p],
      [data.length - 5, 5],
      [123, 0],
    ];
    for (const [offset, length] of ranges) {
      const got = await readAll(await ufs.openRange(uri, offset, length));
      assert.ok(got.equals(data.subarray(offset, offset + length)), `range ${offset}+${length}: got ${got.length} bytes`);
    }
  });

  test('delete: a file; an empty folder; a non-empty one only when recursive; a missing path is fine', async () => {
    const dir = await f.freshFolder();
    await f.putDirect(ufs.join(dir, 'f'), Buffer.alloc(10));
    await ufs.delete(ufs.join(dir, 'f'), { recursive: false });
    assert.equal(await ufs.getStatus(ufs.join(dir, 'f')), null);
    await ufs.mkdirs(ufs.join(dir, 'empty'));
    await ufs.delete(ufs.join(dir, 'empty'), { recursive: false });
    assert.equal(await ufs.getStatus(ufs.join(dir, 'empty')), null);
    await f.putDirect(ufs.join(dir, 'full/x/y'), Buffer.alloc(1));
    await f.putDirect(ufs.join(dir, 'full/z'), Buffer.alloc(1));
    await assert.rejects(ufs.delete(ufs.join(dir, 'full'), { recursive: false }), (e: unknown) => e instanceof StrataError);
    assert.equal((await ufs.getStatus(ufs.join(dir, 'full/z')))?.length, 1);
    await ufs.delete(ufs.join(dir, 'full'), { recursive: true });
    assert.equal(await ufs.getStatus(ufs.join(dir, 'full')), null);
    assert.deepEqual(names(await ufs.listStatus(dir)), []);
    await ufs.delete(ufs.join(dir, 'never-was'), { recursive: true });
  });

  test('rename: a file and a folder with everything below it', async () => {
    const dir = await f.freshFolder();
    await f.putDirect(ufs.join(dir, 'src.bin'), Buffer.from('file body'));
    await ufs.rename(ufs.join(dir, 'src.bin'), ufs.join(dir, 'dst.bin'));
    assert.equal(await ufs.getStatus(ufs.join(dir, 'src.bin')), null);
    assert.equal((await readAll(await ufs.openRange(ufs.join(dir, 'dst.bin'), 0, 9))).toString(), 'file body');
    await f.putDirect(ufs.join(dir, 'tree/a'), Buffer.from('A'));
    await f.putDirect(ufs.join(dir, 'tree/sub/b'), Buffer.from('BB'));
    await ufs.mkdirs(ufs.join(dir, 'tree/emptydir'));
    await ufs.mkdirs(ufs.join(dir, 'moved-parent'));
    await ufs.rename(ufs.join(dir, 'tree'), ufs.join(dir, 'moved-parent/tree'));
    assert.equal(await ufs.getStatus(ufs.join(dir, 'tree')), null);
    assert.deepEqual(names(await ufs.listStatus(ufs.join(dir, 'moved-parent/tree'))), ['a', 'emptydir', 'sub']);
    assert.equal((await ufs.getStatus(ufs.join(dir, 'moved-parent/tree/sub/b')))?.length, 2);
  });

  test('fingerprint: stable while unchanged, different after the content is replaced', async () => {
    const dir = await f.freshFolder();
    const uri = ufs.join(dir, 'fp.bin');
    await f.putDirect(uri, Buffer.alloc(100, 1));
    const first = (await ufs.getStatus(uri))!.fingerprint;
    assert.equal((await ufs.getStatus(uri))!.fingerprint, first);
    assert.equal((await ufs.listStatus(dir))![0]!.fingerprint, first, 'a listing gives the same fingerprint as getStatus');
    await new Promise((r) => setTimeout(r, 20));
    await f.putDirect(uri, Buffer.alloc(100, 2));
    assert.notEqual((await ufs.getStatus(uri))!.fingerprint, first);
  });

  test('listStatus of more than 1,000 entries returns them all', async () => {
    const dir = await f.freshFolder();
    const n = 1100;
    const todo = Array.from({ length: n }, (_, i) => `k${String(i).padStart(5, '0')}`);
    const workers = Array.from({ length: 16 }, async () => {
      for (let name = todo.pop(); name; name = todo.pop()) await f.putDirect(ufs.join(dir, name), Buffer.from(name));
    });
    await Promise.all(workers);
    const list = (await ufs.listStatus(dir))!;
    assert.equal(list.length, n);
    assert.equal(new Set(list.map((s) => s.name)).size, n);
    assert.ok(list.every((s) => s.length === 6));
  });
}
