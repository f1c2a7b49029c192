/** tf.train.Example encoding against hand-computed protobuf bytes, and decoding what others may write. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesFeature, decodeExample, encodeExample, featureValue, floatFeature, int64Feature } from '../../src/datasets/example-proto.js';

test('encodes {"a": int64 [1]} as protobuf defines it', () => {
  // Example.features(1) { Features.feature(1) { key(1) "a", value(2) { int64_list(3) { packed value(1) [1] } } } }
  assert.equal(encodeExample({ a: int64Feature(1) }).toString('hex'), '0a0c' + '0a0a' + '0a0161' + '1205' + '1a03' + '0a0101');
});

test('round trip of bytes, float and int64 lists, negatives and empty lists included', () => {
  const example = {
    'image/encoded': bytesFeature(Buffer.from([0, 1, 2, 255]), Buffer.alloc(0)),
    'image/class/label': int64Feature(7, -1, 2 ** 40, 0),
    score: floatFeature(0.5, -2.25, 1e10),
    none: int64Feature(),
  };
  const back = decodeExample(encodeExample(example));
  assert.deepEqual(back, example);
  assert.equal(featureValue(back, 'image/class/label', 'int64'), 7);
  assert.deepEqual(featureValue(back, 'image/encoded', 'bytes'), Buffer.from([0, 1, 2, 255]));
  assert.throws(() => featureValue(back, 'image/width', 'int64'), /no int64 feature "image\/width"/);
  assert.throws(() => featureValue(back, 'score', 'int64'), /no int64 feature "score"/);
});

test('decodes unpacked numbers and skips unknown fields, as other writers may produce them', () => {
  // Feature { int64_list { value: 5 (unpacked), value: 6 (unpacked) } } under key "n", plus an
  // unknown varint field 9 in the Example and an unknown fixed64 field 7 in the map entry.
  const feature = Buffer.from('1a04' + '0805' + '0806', 'hex');
  const entry = Buffer.concat([Buffer.from('0a016e', 'hex'), Buffer.from('39' + '0102030405060708', 'hex'), Buffer.from([0x12, feature.length]), feature]);
  const features = Buffer.concat([Buffer.from([0x0a, entry.length]), entry]);
  const example = Buffer.concat([Buffer.from('4801', 'hex'), Buffer.from([0x0a, features.length]), features]);
  assert.deepEqual(decodeExample(example), { n: { kind: 'int64', value: [5, 6] } });
  // Feature { float_list(2) { value(1) as one fixed32: 1.5 } }
  const float = Buffer.alloc(4);
  float.writeFloatLE(1.5);
  assert.deepEqual(decodeExample(encodeWith('f', Buffer.concat([Buffer.from('12050d', 'hex'), float]))), { f: { kind: 'float', value: [1.5] } });
});

/** An Example holding `feature` bytes under `key`. */
function encodeWith(key: string, feature: Buffer): Buffer {
  const entry = Buffer.concat([Buffer.from([0x0a, key.length]), Buffer.from(key), Buffer.from([0x12, feature.length]), feature]);
  const features = Buffer.concat([Buffer.from([0x0a, entry.length]), entry]);
  return Buffer.concat([Buffer.from([0x0a, features.length]), features]);
}

test('malformed input is refused with a message naming what is wrong', () => {
  assert.throws(() => decodeExample(Buffer.from('0a05', 'hex')), /Malformed Example: field of 5 bytes runs past the end/);
  assert.throws(() => decodeExample(Buffer.from('0aff', 'hex')), /Malformed Example: varint runs past the end/);
  assert.throws(() => encodeExample({ x: int64Feature(2 ** 60) }), /not a safe integer/);
});
