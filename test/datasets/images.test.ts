/** Synthetic images: deterministic, PNG round trip exact, sizes near their target, bad input refused. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeImage, encodePng, syntheticImage } from '../../src/datasets/images.js';
import { sideForBytes } from '../../src/datasets/image-size.js';
import { mulberry32 } from '../../src/datasets/random.js';

test('the same seed gives the same pixels; another seed other pixels', () => {
  const a = syntheticImage(1, 4, 24, mulberry32(5));
  assert.deepEqual(syntheticImage(1, 4, 24, mulberry32(5)), a);
  assert.notDeepEqual(syntheticImage(1, 4, 24, mulberry32(6)).data, a.data);
  assert.equal(a.data.length, 24 * 24 * 3);
});

test('PNG encode then decode gives back the exact RGB pixels', () => {
  const img = syntheticImage(2, 3, 37, mulberry32(1));
  const png = encodePng(img);
  assert.equal(png.subarray(1, 4).toString(), 'PNG');
  assert.deepEqual(decodeImage(png), img);
});

test('classes differ in colour more than images of one class do', () => {
  const mean = (c: number, seed: number) => {
    const { data } = syntheticImage(c, 4, 32, mulberry32(seed));
    const sum = [0, 0, 0];
    for (let i = 0; i < data.length; i++) sum[i % 3]! += data[i]!;
    return sum.map((s) => s / (data.length / 3));
  };
  const dist = (a: number[], b: number[]) => Math.hypot(...a.map((v, i) => v - b[i]!));
  const within = Math.max(...[0, 1, 2, 3].map((c) => dist(mean(c, 1), mean(c, 2))));
  const between = Math.min(...[[0, 1], [1, 2], [2, 3], [0, 3], [0, 2], [1, 3]].map(([a, b]) => dist(mean(a!, 1), mean(b!, 1))));
  assert.ok(between > 2 * within, `between-class ${between.toFixed(1)} vs within-class ${within.toFixed(1)}`);
});

test('side length for a target size lands the PNG within 10% of it', () => {
  for (const target of [2_000, 20_000, 100 * 1024]) {
    const side = sideForBytes(target);
    const bytes = encodePng(syntheticImage(3, 5, side, mulberry32(99))).length;
    assert.ok(Math.abs(bytes - target) / target < 0.1, `target ${target}: side ${side} gave ${bytes} bytes`);
  }
});

test('decoding something that is not a PNG says so', () => {
  assert.throws(() => decodeImage(Buffer.from('GIF89a...')), /Not a PNG image \(starts with 4749463839612e2e\)/);
  const png = encodePng(syntheticImage(0, 2, 16, mulberry32(1)));
  assert.throws(() => decodeImage(png.subarray(0, 40)), /Cannot decode PNG image/);
  assert.throws(() => syntheticImage(4, 4, 8, mulberry32(1)), /class 4 is not in 0..3/);
});
