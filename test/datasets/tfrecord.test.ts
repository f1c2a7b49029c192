/**
 * TFRecord framing against bytes computed from the format's definition (with a bit-by-bit CRC,
 * not this code), streaming reads in chunks of any size, and corruption caught with its offset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeRecord, encodeRecords, readRecords, TFRecordError } from '../../src/datasets/tfrecord.js';

async function* inChunks(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function collectAll(source: AsyncIterable<Uint8Array>, name?: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const r of readRecords(source, { name })) out.push(Buffer.from(r));
  return out;
}

test('byte layout: length, masked length CRC, data, masked data CRC', () => {
  assert.equal(encodeRecord(Buffer.from('hello')).toString('hex'), '0500000000000000' + 'eab2043e' + '68656c6c6f' + 'bb1f1c19');
  assert.equal(encodeRecord(Buffer.alloc(0)).toString('hex'), '0000000000000000' + '29039807' + 'd8ea82a2');
});

test('records come back whole from chunks of 1, 7, 4096 bytes and from a file stream', async () => {
  const records = [Buffer.alloc(0), Buffer.from('a'), randomBytes(5000), randomBytes(70_000), Buffer.from('last')];
  const file = encodeRecords(records);
  for (const size of [1, 7, 4096, file.length]) assert.deepEqual(await collectAll(inChunks(file, size)), records, `chunks of ${size}`);
  const dir = mkdtempSync(join(tmpdir(), 'tfrecord-'));
  try {
    writeFileSync(join(dir, 'x.tfrecord'), file);
    assert.deepEqual(await collectAll(createReadStream(join(dir, 'x.tfrecord'), { highWaterMark: 999 })), records);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a flipped data byte is refused, naming the file and the offset of its record', async () => {
  const records = [randomBytes(100), randomBytes(200), randomBytes(300)];
  const file = encodeRecords(records);
  const second = 12 + 100 + 4; // offset of the second record
  file[second + 12 + 50]! ^= 0x01;
  const got: Buffer[] = [];
  await assert.rejects(
    async () => {
      for await (const r of readRecords(inChunks(file, 64), { name: 'shard-0.tfrecord' })) got.push(r);
    },
    (err: unknown) => {
      assert.ok(err instanceof TFRecordError);
      assert.equal(err.offset, second);
      assert.match(err.message, /^shard-0\.tfrecord: data CRC mismatch .*byte offset 116\)$/);
      return true;
    },
  );
  assert.equal(got.length, 1, 'the good record before it was delivered');
});

test('a corrupted length is refused before its data is read; so is a truncated file', async () => {
  const file = encodeRecords([randomBytes(10), randomBytes(10)]);
  const badLength = Buffer.from(file);
  badLength[26 + 3] = 0x7f; // high byte of the second record's length: a 2 GB record if trusted
  await assert.rejects(collectAll(inChunks(badLength, 5), 'f'), (e: unknown) => e instanceof TFRecordError && e.offset === 26 && /length CRC mismatch/.test(e.message));
  await assert.rejects(collectAll(inChunks(file.subarray(0, file.length - 1), 5), 'f'), (e: unknown) => e instanceof TFRecordError && e.offset === 26 && /truncated/.test(e.message));
  await assert.rejects(collectAll(inChunks(file.subarray(0, 30), 5), 'f'), /truncated/);
});
