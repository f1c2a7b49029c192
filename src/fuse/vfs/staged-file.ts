/**
 * A file being written through the mount. A new file written from start to end (the common
 * case: cp, tar, checkpoints) streams into Strata as it is written, with the configured write
 * type, so closing it costs no upload. Everything is also kept in local scratch space: a write
 * out of order, an overwrite, an append or a truncate drops the stream, and the whole file is
 * committed from the scratch copy when it is flushed or released. Other readers see the new
 * content once it is closed, never a half-written one.
 */
import { close, fstat, ftruncate, open, read, unlink, write } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import type { FileSystem } from '../../client/file-system.js';
import type { FileOutStream } from '../../client/file-out-stream.js';
import type { WriteType } from '../../common/types.js';

const pRead = promisify(read);
const pWrite = promisify(write);
const pOpen = promisify(open);
const pClose = promisify(close);
const pTruncate = promisify(ftruncate);
const pFstat = promisify(fstat);
let counter = 0;

export class StagedFile {
  refs = 0;
  dirty = false;
  /** The sequential stream into Strata of a new file, while writes arrive in order. */
  private stream?: { out: FileOutStream; written: number };
  /** Removed from the namespace while open: never committed. */
  unlinked = false;
  size = 0;
  mtimeMs = Date.now();
  private constructor(
    public path: string,
    readonly scratchPath: string,
    readonly fd: number,
    readonly mode: number,
    readonly ino: number,
  ) {}

  static async create(opts: { path: string; scratchDir: string; mode: number; ino: number }): Promise<StagedFile> {
    const scratch = join(opts.scratchDir, `${process.pid}-${++counter}`);
    const fd = await pOpen(scratch, 'w+', 0o600);
    return new StagedFile(opts.path, scratch, fd, opts.mode, opts.ino);
  }

  /** Copies the current content of a Strata file in (an open for write without O_TRUNC). */
  async loadFrom(fs: FileSystem, strataPath: string): Promise<void> {
    const input = await fs.openFile(strataPath);
    try {
      let at = 0;
      for await (const chunk of input.chunks()) {
        await this.writeAll(chunk, at);
        at += chunk.length;
      }
      this.size = at;
    } finally {
      await input.close();
    }
  }

  private async writeAll(data: Buffer, offset: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await pWrite(this.fd, data, done, data.length - done, offset + done);
      done += bytesWritten;
    }
  }

  /** Streams a new file into Strata while it is written in order (see the design note). */
  async startStream(fs: FileSystem, strataPath: string, writeType: WriteType): Promise<void> {
    this.stream = { out: await fs.createFile(strataPath, { writeType, mode: this.mode & 0o7777 }), written: 0 };
  }

  private async dropStream(): Promise<void> {
    const s = this.stream;
    this.stream = undefined;
    await s?.out.abort();
  }

  async write(data: Buffer, offset: number): Promise<number> {
    await this.writeAll(data, offset);
    if (this.stream) {
      if (offset === this.stream.written) {
        await this.stream.out.write(data);
        this.stream.written += data.length;
      } else {
        await this.dropStream();
      }
    }
    this.size = Math.max(this.size, offset + data.length);
    this.dirty = true;
    this.mtimeMs = Date.now();
    return data.length;
  }

  async read(offset: number, size: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(Math.max(0, Math.min(size, this.size - offset)));
    let done = 0;
    while (done < buf.length) {
      const { bytesRead } = await pRead(this.fd, buf, done, buf.length - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return buf.subarray(0, done);
  }

  async truncate(size: number): Promise<void> {
    if (this.stream && size !== this.stream.written) await this.dropStream();
    await pTruncate(this.fd, size);
    this.size = size;
    this.dirty = true;
    this.mtimeMs = Date.now();
  }

  /** Writes the staged content to Strata as a new version of the file. */
  async commit(fs: FileSystem, strataPath: string, writeType: WriteType): Promise<void> {
    if (!this.dirty) return;
    this.size = (await pFstat(this.fd)).size;
    if (this.stream && this.stream.written === this.size) {
      const { out } = this.stream;
      this.stream = undefined;
      await out.close();
      this.dirty = false;
      return;
    }
    await this.dropStream();
    const out = await fs.createFile(strataPath, { writeType, overwrite: true, mode: this.mode & 0o7777 });
    try {
      const chunk = 4 << 20;
      for (let at = 0; at < this.size; at += chunk) await out.write(await this.read(at, chunk));
      await out.close();
    } catch (err) {
      await out.abort();
      throw err;
    }
    this.dirty = false;
  }

  async dispose(): Promise<void> {
    await this.dropStream().catch(() => undefined);
    await pClose(this.fd).catch(() => undefined);
    await promisify(unlink)(this.scratchPath).catch(() => undefined);
  }
}
