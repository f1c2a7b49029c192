/**
 * tf.train.Example, the record type of TensorFlow's image datasets, encoded and decoded by hand
 * (a protobuf library and .proto compilation would be far more than these three messages need):
 *   Example { Features features = 1 }
 *   Features { map<string, Feature> feature = 1 }   (each entry: key = 1, value = 2)
 *   Feature { oneof { BytesList bytes_list = 1; FloatList float_list = 2; Int64List int64_list = 3 } }
 *   BytesList { repeated bytes value = 1 }  FloatList { repeated float value = 1 [packed] }
 *   Int64List { repeated int64 value = 1 [packed] }
 * The decoder accepts packed and unpacked repeated numbers and skips unknown fields, as protobuf
 * parsers must. int64 values decode to JavaScript numbers and are refused past 2^53.
 */
import { ProtoReader, ProtoWriter, WIRE_BYTES, WIRE_FIXED32, WIRE_VARINT } from './protobuf-wire.js';

export type Feature = { kind: 'bytes'; value: Buffer[] } | { kind: 'float'; value: number[] } | { kind: 'int64'; value: number[] };
export type Example = Record<string, Feature>;

export const bytesFeature = (...value: Uint8Array[]): Feature => ({ kind: 'bytes', value: value.map((v) => (Buffer.isBuffer(v) ? v : Buffer.from(v))) });
export const floatFeature = (...value: number[]): Feature => ({ kind: 'float', value });
export const int64Feature = (...value: number[]): Feature => ({ kind: 'int64', value });

function encodeFeature(f: Feature): Buffer {
  const list = new ProtoWriter();
  switch (f.kind) {
    case 'bytes':
      for (const v of f.value) list.bytes(1, v);
      return new ProtoWriter().bytes(1, list.finish()).finish();
    case 'float': {
      const packed = Buffer.allocUnsafe(4 * f.value.length);
      f.value.forEach((v, i) => packed.writeFloatLE(v, 4 * i));
      if (f.value.length) list.bytes(1, packed);
      return new ProtoWriter().bytes(2, list.finish()).finish();
    }
    case 'int64': {
      for (const v of f.value) if (!Number.isSafeInteger(v)) throw new RangeError(`int64 feature value ${v} is not a safe integer`);
      if (f.value.length) list.bytes(1, f.value.reduce((w, v) => w.varint(v), new ProtoWriter()).finish());
      return new ProtoWriter().bytes(3, list.finish()).finish();
    }
  }
}

export function encodeExample(example: Example): Buffer {
  const features = new ProtoWriter();
  for (const [key, feature] of Object.entries(example)) {
    const entry = new ProtoWriter().bytes(1, Buffer.from(key, 'utf8')).bytes(2, encodeFeature(feature)).finish();
    features.bytes(1, entry);
  }
  return new ProtoWriter().bytes(1, features.finish()).finish();
}

function decodeList(buf: Buffer, kind: Feature['kind']): Feature {
  const r = new ProtoReader(buf, `${kind}_list`);
  const bytes: Buffer[] = [];
  const numbers: number[] = [];
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field !== 1) r.skip(wire);
    else if (kind === 'bytes' && wire === WIRE_BYTES) bytes.push(r.bytes());
    else if (kind === 'float' && wire === WIRE_FIXED32) numbers.push(r.float());
    else if (kind === 'int64' && wire === WIRE_VARINT) numbers.push(toSafeInt(r.varint()));
    else if (kind !== 'bytes' && wire === WIRE_BYTES) {
      const packed = new ProtoReader(r.bytes(), `packed ${kind}_list`);
      while (!packed.done) numbers.push(kind === 'float' ? packed.float() : toSafeInt(packed.varint()));
    } else throw new Error(`Malformed ${kind}_list: wire type ${wire} for its values`);
  }
  return kind === 'bytes' ? { kind, value: bytes } : { kind, value: numbers };
}

function toSafeInt(v: bigint): number {
  const signed = BigInt.asIntN(64, v);
  if (signed > BigInt(Number.MAX_SAFE_INTEGER) || signed < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`int64 feature value ${signed} does not fit a JavaScript number`);
  }
  return Number(signed);
}

const KIND_BY_FIELD: Record<number, Feature['kind']> = { 1: 'bytes', 2: 'float', 3: 'int64' };

function decodeFeature(buf: Buffer): Feature {
  const r = new ProtoReader(buf, 'Feature');
  let feature: Feature = { kind: 'bytes', value: [] }; // a Feature with no list set
  while (!r.done) {
    const { field, wire } = r.tag();
    const kind = KIND_BY_FIELD[field];
    if (kind && wire === WIRE_BYTES) feature = decodeList(r.bytes(), kind);
    else r.skip(wire);
  }
  return feature;
}

export function decodeExample(buf: Buffer): Example {
  const example: Example = {};
  const r = new ProtoReader(buf, 'Example');
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field !== 1 || wire !== WIRE_BYTES) {
      r.skip(wire);
      continue;
    }
    const features = new ProtoReader(r.bytes(), 'Features');
    while (!features.done) {
      const t = features.tag();
      if (t.field !== 1 || t.wire !== WIRE_BYTES) {
        features.skip(t.wire);
        continue;
      }
      const entry = new ProtoReader(features.bytes(), 'Features map entry');
      let key = '';
      let feature: Feature = { kind: 'bytes', value: [] };
      while (!entry.done) {
        const e = entry.tag();
        if (e.field === 1 && e.wire === WIRE_BYTES) key = entry.bytes().toString('utf8');
        else if (e.field === 2 && e.wire === WIRE_BYTES) feature = decodeFeature(entry.bytes());
        else entry.skip(e.wire);
      }
      example[key] = feature;
    }
  }
  return example;
}

/** The first value of a feature of the expected kind; throws naming the feature otherwise. */
export function featureValue(example: Example, key: string, kind: 'bytes'): Buffer;
export function featureValue(example: Example, key: string, kind: 'float' | 'int64'): number;
export function featureValue(example: Example, key: string, kind: Feature['kind']): Buffer | number {
  const f = example[key];
  if (!f || f.kind !== kind || f.value.length === 0) {
    throw new Error(`Example has no ${kind} feature "${key}" (features: ${Object.keys(example).join(', ') || 'none'})`);
  }
  return f.value[0]!;
}
