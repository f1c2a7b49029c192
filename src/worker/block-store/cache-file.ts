/**
 * Byte operations on cache files: one sparse file per (file, tier folder), block `index` at
 * byte `index * blockSize`. Punching a hole gives a block's range back to the file system
 * without touching the neighbouring blocks.
 */
import { closeSync, constants, fdatasyncSync, openSync, writeSync, writevSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { native } from '../../common/native.js';
import { StrataError, toStrataError } from '../../common/errors.js';

const COPY_CHUNK = 4 * 1024 * 1024;

/** A cache file open for positional writes: the calls of a FileHandle that block writers use. */
export interface WritableCacheFile {
  write(buf: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  writev(chunks: Uint8Array[], position: number): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A cache file on a memory-backed tier (tmpfs), written with direct system calls: there they are
 * memory copies that never wait for a device, and handing each to the thread pool cost more than
 * the call (a thread wake-up and two context switches each, several per small block; on two
 * cores the woken thread also takes the event loop's CPU).
 */
class MemoryCacheFile implements WritableCacheFile {
  constructor(private fd: number) {}
  async write(buf: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }> {
    return { bytesWritten: writeSync(this.fd, buf, offset, length, position) };
  }
  async writev(chunks: Uint8Array[], position: number): Promise<{ bytesWritten: number }> {
    return { bytesWritten: writevSync(this.fd, chunks, position) };
  }
  async datasync(): Promise<void> {
    fdatasyncSync(this.fd);
  }
  async close(): Promise<void> {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    closeSync(fd);
  }
}

const WRITE_FLAGS = constants.O_RDWR | constants.O_CREAT;

/** Opens (creating if missing) a cache file for positional writes. */
export async function openForWrite(path: string, memoryBacked = false): Promise<WritableCacheFile> {
  if (memoryBacked) return new MemoryCacheFile(openSync(path, WRITE_FLAGS, 0o644));
  return open(path, WRITE_FLAGS, 0o644);
}

/** Writes all of buf at position. */
export async function writeFully(fh: WritableCacheFile, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.byteLength) {
    const { bytesWritten } = await fh.write(buf, done, buf.byteLength - done, position + done);
    done += bytesWritten;
  }
}

/** Writes all of `chunks`, one after the other, at position: one system call in the usual case. */
export async function writeAllAt(fh: WritableCacheFile, chunks: readonly Uint8Array[], position: number): Promise<void> {
  if (chunks.length === 1) return writeFully(fh, chunks[0]!, position);
  let skip = (await fh.writev(chunks as Uint8Array[], position)).bytesWritten;
  // A short write (rare on a local file): the rest one chunk at a time.
  let at = position;
  for (const c of chunks) {
    if (skip < c.byteLength) await writeFully(fh, c.subarray(skip), at + skip);
    skip = Math.max(0, skip - c.byteLength);
    at += c.byteLength;
  }
}

async function readFully(fh: FileHandle, buf: Buffer, position: number, path: string): Promise<void> {
  let done = 0;
  while (done < buf.byteLength) {
    const { bytesRead } = await fh.read(buf, done, buf.byteLength - done, position + done);
    if (bytesRead === 0) {
      throw new StrataError('DATA_LOSS', `cache file ${path} ends before byte ${position + buf.byteLength}`);
    }
    done += bytesRead;
  }
}

/** Reads exactly `length` bytes at `position`. */
export async function readRange(path: string, position: number, length: number): Promise<Buffer> {
  const fh = await open(path, 'r').catch((err: unknown) => {
    throw toStrataError(err, `open cache file ${path}`);
  });
  try {
    const buf = Buffer.allocUnsafe(length);
    await readFully(fh, buf, position, path);
    return buf;
  } finally {
    await fh.close();
  }
}

/** Copies a range into another (open) cache file at the same offset and makes it durable. */
export async function copyRange(from: string, to: WritableCacheFile, position: number, length: number): Promise<void> {
  const src = await open(from, 'r');
  try {
    const buf = Buffer.allocUnsafe(Math.min(COPY_CHUNK, length));
    for (let done = 0; done < length; ) {
      const n = Math.min(buf.byteLength, length - done);
      const chunk = buf.subarray(0, n);
      await readFully(src, chunk, position + done, from);
      await writeFully(to, chunk, position + done);
      done += n;
    }
    await to.datasync();
  } finally {
    await src.close();
  }
}

/** Deallocates a range; a missing file has nothing to punch. */
export async function punchRange(path: string, position: number, length: number): Promise<void> {
  if (length <= 0) return;
  let fh: FileHandle;
  try {
    fh = await open(path, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    native().punchHole(fh.fd, position, length);
  } finally {
    await fh.close();
  }
}

export async function removeFile(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
