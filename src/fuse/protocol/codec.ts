/**
 * Encoders and decoders for the FUSE kernel protocol's structs (little-endian, as the kernel
 * lays them out). Requests arrive as one buffer: a 40-byte header, then the op's struct, then
 * names or data. Replies are a 16-byte header and the op's struct.
 */
import { ATTR_SIZE, ENTRY_OUT_SIZE, IN_HEADER_SIZE, OUT_HEADER_SIZE } from './constants.js';

export interface InHeader {
  len: number;
  opcode: number;
  unique: bigint;
  nodeid: bigint;
  uid: number;
  gid: number;
  pid: number;
}

export function readInHeader(buf: Buffer): InHeader {
  return {
    len: buf.readUInt32LE(0),
    opcode: buf.readUInt32LE(4),
    unique: buf.readBigUInt64LE(8),
    nodeid: buf.readBigUInt64LE(16),
    uid: buf.readUInt32LE(24),
    gid: buf.readUInt32LE(28),
    pid: buf.readUInt32LE(32),
  };
}

/** A cursor over a request body, past the header. */
export class Body {
  private at = IN_HEADER_SIZE;
  constructor(readonly buf: Buffer) {}
  u32(): number {
    const v = this.buf.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }
  u64(): number {
    const v = Number(this.buf.readBigUInt64LE(this.at));
    this.at += 8;
    return v;
  }
  big(): bigint {
    const v = this.buf.readBigUInt64LE(this.at);
    this.at += 8;
    return v;
  }
  skip(n: number): this {
    this.at += n;
    return this;
  }
  /** A NUL-terminated name. */
  name(): string {
    const end = this.buf.indexOf(0, this.at);
    const s = this.buf.toString('utf8', this.at, end < 0 ? this.buf.length : end);
    this.at = end < 0 ? this.buf.length : end + 1;
    return s;
  }
  rest(): Buffer {
    return this.buf.subarray(this.at);
  }
}

export interface Attr {
  ino: number;
  size: number;
  blocks: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
}

function writeTime(buf: Buffer, secAt: number, nsecAt: number, ms: number): void {
  const sec = Math.floor(ms / 1000);
  buf.writeBigUInt64LE(BigInt(Math.max(0, sec)), secAt);
  buf.writeUInt32LE(Math.floor((ms - sec * 1000) * 1e6), nsecAt);
}

export function writeAttr(buf: Buffer, at: number, a: Attr): void {
  buf.writeBigUInt64LE(BigInt(a.ino), at);
  buf.writeBigUInt64LE(BigInt(a.size), at + 8);
  buf.writeBigUInt64LE(BigInt(a.blocks), at + 16);
  writeTime(buf, at + 24, at + 48, a.atimeMs);
  writeTime(buf, at + 32, at + 52, a.mtimeMs);
  writeTime(buf, at + 40, at + 56, a.ctimeMs);
  buf.writeUInt32LE(a.mode, at + 60);
  buf.writeUInt32LE(a.nlink, at + 64);
  buf.writeUInt32LE(a.uid, at + 68);
  buf.writeUInt32LE(a.gid, at + 72);
  buf.writeUInt32LE(0, at + 76); // rdev
  buf.writeUInt32LE(4096, at + 80); // blksize
  buf.writeUInt32LE(0, at + 84); // flags
}

export interface Timeouts {
  entryMs: number;
  attrMs: number;
}

function writeValid(buf: Buffer, secAt: number, nsecAt: number, ms: number): void {
  writeTime(buf, secAt, nsecAt, ms);
}

export function entryOut(nodeid: bigint, attr: Attr, t: Timeouts): Buffer {
  const b = Buffer.alloc(ENTRY_OUT_SIZE);
  writeEntry(b, 0, nodeid, attr, t);
  return b;
}

function writeEntry(b: Buffer, at: number, nodeid: bigint, attr: Attr, t: Timeouts): void {
  b.writeBigUInt64LE(nodeid, at);
  b.writeBigUInt64LE(0n, at + 8); // generation
  writeValid(b, at + 16, at + 32, t.entryMs);
  writeValid(b, at + 24, at + 36, t.attrMs);
  writeAttr(b, at + 40, attr);
}

export function attrOut(attr: Attr, t: Timeouts): Buffer {
  const b = Buffer.alloc(16 + ATTR_SIZE);
  writeValid(b, 0, 8, t.attrMs);
  writeAttr(b, 16, attr);
  return b;
}

export function openOut(fh: bigint, openFlags: number, backingId = 0): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(fh, 0);
  b.writeUInt32LE(openFlags, 8);
  b.writeInt32LE(backingId, 12);
  return b;
}

export function writeOut(size: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(size, 0);
  return b;
}

export function statfsOut(s: { blocks: number; bfree: number; bavail: number; files: number; ffree: number; bsize: number }): Buffer {
  const b = Buffer.alloc(80);
  b.writeBigUInt64LE(BigInt(s.blocks), 0);
  b.writeBigUInt64LE(BigInt(s.bfree), 8);
  b.writeBigUInt64LE(BigInt(s.bavail), 16);
  b.writeBigUInt64LE(BigInt(s.files), 24);
  b.writeBigUInt64LE(BigInt(s.ffree), 32);
  b.writeUInt32LE(s.bsize, 40);
  b.writeUInt32LE(255, 44); // namelen
  b.writeUInt32LE(s.bsize, 48); // frsize
  return b;
}

export function xattrSizeOut(size: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(size, 0);
  return b;
}

const DT_DIR = 4;
const DT_REG = 8;

/** Packs directory entries from `offset` until `size` bytes are used; returns the buffer. */
export function packDirents<E extends { name: string; ino: number; folder: boolean; nodeid?: bigint; attr?: Attr }>(
  entries: E[],
  offset: number,
  size: number,
  plus: boolean,
  t: Timeouts,
  /** Called for each entry that fits, before it is packed. */
  onInclude?: (entry: E) => void,
): Buffer {
  const parts: Buffer[] = [];
  let used = 0;
  for (let i = offset; i < entries.length; i++) {
    const e = entries[i]!;
    const name = Buffer.from(e.name);
    const direntLen = 24 + name.length;
    const padded = (direntLen + 7) & ~7;
    const total = (plus ? ENTRY_OUT_SIZE : 0) + padded;
    if (used + total > size) break;
    onInclude?.(e);
    const b = Buffer.alloc(total);
    let at = 0;
    if (plus) {
      if (e.nodeid !== undefined && e.attr) writeEntry(b, 0, e.nodeid, e.attr, t);
      at = ENTRY_OUT_SIZE;
    }
    b.writeBigUInt64LE(BigInt(e.ino), at);
    b.writeBigUInt64LE(BigInt(i + 1), at + 8); // the offset of the next entry
    b.writeUInt32LE(name.length, at + 16);
    b.writeUInt32LE(e.folder ? DT_DIR : DT_REG, at + 20);
    name.copy(b, at + 24);
    parts.push(b);
    used += total;
  }
  return Buffer.concat(parts, used);
}

export function outHeader(len: number, error: number, unique: bigint): Buffer {
  const b = Buffer.alloc(OUT_HEADER_SIZE);
  b.writeUInt32LE(len, 0);
  b.writeInt32LE(error, 4);
  b.writeBigUInt64LE(unique, 8);
  return b;
}
