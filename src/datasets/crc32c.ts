/**
 * CRC-32C (Castagnoli), the checksum TFRecord files carry, and TFRecord's "masked" form of it.
 * Table-driven, eight bytes a step (slicing-by-8): Node 20 has no CRC-32C of its own, and a
 * reader checks every byte of every record, so the checksum must not be what limits a training
 * input pipeline.
 */

/** The reflected Castagnoli polynomial. */
const POLY = 0x82f63b78;

/** TABLES[k][b]: the CRC of byte b followed by k zero bytes; TABLES[0] is the classic table. */
const TABLES: Uint32Array[] = (() => {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let i = 0; i < 8; i++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    tables[0]![b] = c >>> 0;
  }
  for (let b = 0; b < 256; b++) {
    for (let k = 1; k < 8; k++) {
      const prev = tables[k - 1]![b]!;
      tables[k]![b] = (tables[0]![prev & 0xff]! ^ (prev >>> 8)) >>> 0;
    }
  }
  return tables;
})();

/** CRC-32C of `data`; pass a previous result as `crc` to continue it over more bytes. */
export function crc32c(data: Uint8Array, crc = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  let c = ~crc >>> 0;
  let i = 0;
  const n = data.length;
  const end8 = n - (n % 8);
  while (i < end8) {
    const lo = (c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))) >>> 0;
    c =
      t7[lo & 0xff]! ^
      t6[(lo >>> 8) & 0xff]! ^
      t5[(lo >>> 16) & 0xff]! ^
      t4[lo >>> 24]! ^
      t3[data[i + 4]!]! ^
      t2[data[i + 5]!]! ^
      t1[data[i + 6]!]! ^
      t0[data[i + 7]!]!;
    i += 8;
  }
  while (i < n) c = t0[(c ^ data[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * The masked CRC TFRecord stores: rotated right by 15 bits plus a constant, because a CRC of
 * data that itself contains CRCs is weak (TensorFlow's crc32c::Mask).
 */
export function maskCrc(crc: number): number {
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

export function maskedCrc32c(data: Uint8Array): number {
  return maskCrc(crc32c(data));
}
