/** CRC-32C against the standard check value and RFC 3720's test vectors, and TFRecord's mask. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { crc32c, maskCrc, maskedCrc32c } from '../../src/datasets/crc32c.js';

/** The textbook bit-at-a-time CRC-32C, independent of the table-driven one under test. */
function bitwiseCrc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let i = 0; i < 8; i++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

test('check value: CRC-32C("123456789") = 0xE3069283', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
});

test('RFC 3720 B.4 vectors: 32 zeros, 32 x 0xFF, 0..31, 31..0', () => {
  assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa);
  assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e);
  assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i))), 0x113fdb5c);
  assert.equal(crc32c(Buffer.alloc(0)), 0);
});

test('agrees with a bitwise CRC on every length 0-40 and on random data; continues across pieces', () => {
  const data = randomBytes(10_000);
  for (let n = 0; n <= 40; n++) assert.equal(crc32c(data.subarray(0, n)), bitwiseCrc32c(data.subarray(0, n)), `length ${n}`);
  assert.equal(crc32c(data), bitwiseCrc32c(data));
  const cut = 4321;
  assert.equal(crc32c(data.subarray(cut), crc32c(data.subarray(0, cut))), crc32c(data));
});

test('mask: rotate right 15 and add 0xa282ead8, as TFRecord defines', () => {
  assert.equal(maskCrc(0), 0xa282ead8);
  assert.equal(maskCrc(0x00008000), (1 + 0xa282ead8) >>> 0);
  assert.equal(maskedCrc32c(Buffer.from('123456789')), maskCrc(0xe3069283));
});
