/**
 * The few pieces of the protocol buffers wire format that tf.train.Example needs: varints,
 * length-delimited fields, fixed32 floats, and skipping fields a reader does not know.
 */

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;

/** Appends fields to a growing list of parts; `finish()` joins them. */
export class ProtoWriter {
  private parts: Buffer[] = [];
  private scratch: number[] = [];

  private flushScratch(): void {
    if (this.scratch.length) {
      this.parts.push(Buffer.from(this.scratch));
      this.scratch = [];
    }
  }

  varint(value: bigint | number): this {
    // int64 as protobuf encodes it: negative numbers as their 64-bit two's complement.
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.scratch.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.scratch.push(Number(v));
    return this;
  }

  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, WIRE_BYTES).varint(data.length);
    this.flushScratch();
    this.parts.push(Buffer.isBuffer(data) ? data : Buffer.from(data));
    return this;
  }

  finish(): Buffer {
    this.flushScratch();
    return Buffer.concat(this.parts);
  }
}

/** Reads fields out of one message's bytes. */
export class ProtoReader {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    private readonly what: string,
  ) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  private bad(why: string): Error {
    return new Error(`Malformed ${this.what}: ${why} at byte ${this.pos}`);
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.buf.length) throw this.bad('varint runs past the end');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, result);
    }
    throw this.bad('varint longer than 10 bytes');
  }

  /** A varint known to be small (tags, lengths). */
  uint(): number {
    const v = this.varint();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.bad('length out of range');
    return Number(v);
  }

  tag(): { field: number; wire: number } {
    const t = this.uint();
    return { field: Math.floor(t / 8), wire: t & 7 };
  }

  bytes(): Buffer {
    const n = this.uint();
    if (this.pos + n > this.buf.length) throw this.bad(`field of ${n} bytes runs past the end`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  float(): number {
    if (this.pos + 4 > this.buf.length) throw this.bad('float runs past the end');
    const v = this.buf.readFloatLE(this.pos);
    this.pos += 4;
    return v;
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.pos += 8;
        break;
      case WIRE_BYTES:
        this.bytes();
        return;
      case WIRE_FIXED32:
        this.pos += 4;
        break;
      default:
        throw this.bad(`unsupported wire type ${wire}`);
    }
    if (this.pos > this.buf.length) throw this.bad('field runs past the end');
  }
}
