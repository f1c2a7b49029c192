/**
 * A file being written through the mount, staged in local scratch space: random writes,
 * overwrites, appends and truncates all work on the scratch copy, and the whole file is
 * committed to Strata (with the configured write type) when it is flushed or released, so other
 * readers see the new content once it is closed, never a half-written one.
 */
import { close, fstat, ftruncate, open, read, unlink, write } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import type { FileSystem } from '../../client/file-system.js';
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

  async write(data: Buffer, offset: number): Promise<number> {
    await this.writeAll(data, offset);
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
    await pTruncate(this.fd, size);
    this.size = size;
    this.dirty = true;
    this.mtimeMs = Date.now();
  }

  /** Writes the staged content to Strata as a new version of the file. */
  async commit(fs: FileSystem, strataPath: string, writeType: WriteType): Promise<void> {
    if (!this.dirty) return;
    this.size = (await pFstat(this.fd)).size;
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
    await pClose(this.fd).catch(() => undefined);
    await promisify(unlink)(this.scratchPath).catch(() => undefined);
  }
}
