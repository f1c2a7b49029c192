/**
 * Local folder under-storage. Writes go to a hidden temporary file beside the target and are
 * renamed into place on close, so a reader never sees a half-written file and a crash leaves
 * only a temporary that the next write of the same path replaces.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { StrataError, toStrataError } from '../common/errors.js';
import { groupName, userName } from '../common/users.js';
import type { UfsStatus, UfsWriteStream, UnderFileSystem } from './under-file-system.js';

const TEMP_PREFIX = '.strata-tmp-';

export function localPathOf(uri: string): string {
  const path = uri.startsWith('file://') ? uri.slice('file://'.length) : uri;
  if (!path.startsWith('/')) throw new StrataError('INVALID_ARGUMENT', `Local UFS path ${uri} is not absolute`);
  return path;
}

function statusOf(name: string, st: Stats): UfsStatus {
  return {
    name,
    folder: st.isDirectory(),
    length: st.isDirectory() ? 0 : st.size,
    lastModifiedMs: Math.floor(st.mtimeMs),
    mode: st.mode & 0o7777,
    owner: userName(st.uid),
    group: groupName(st.gid),
    fingerprint: st.isDirectory() ? '' : `${st.size}:${Math.floor(st.mtimeMs)}:${st.ino}`,
  };
}

async function statOrNull(path: string): Promise<Stats | null> {
  try {
    return await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw toStrataError(err, `UFS stat ${path}`);
  }
}

class LocalWriteStream implements UfsWriteStream {
  constructor(
    private readonly handle: FileHandle,
    private readonly tempPath: string,
    private readonly finalPath: string,
  ) {}

  async write(chunk: Uint8Array): Promise<void> {
    let done = 0;
    while (done < chunk.length) {
      const { bytesWritten } = await this.handle.write(chunk, done, chunk.length - done);
      done += bytesWritten;
    }
  }

  async close(): Promise<UfsStatus> {
    await this.handle.sync();
    await this.handle.close();
    await rename(this.tempPath, this.finalPath);
    return statusOf(basename(this.finalPath), await stat(this.finalPath));
  }

  async abort(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await unlink(this.tempPath).catch(() => undefined);
  }
}

export class LocalUnderFileSystem implements UnderFileSystem {
  readonly scheme = 'file';

  async getStatus(uri: string): Promise<UfsStatus | null> {
    const path = localPathOf(uri);
    const st = await statOrNull(path);
    return st && statusOf(basename(path), st);
  }

  async listStatus(uri: string): Promise<UfsStatus[] | null> {
    const path = localPathOf(uri);
    let names: string[];
    try {
      names = await readdir(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw toStrataError(err, `UFS list ${path}`);
    }
    const out: UfsStatus[] = [];
    for (const name of names) {
      if (name.startsWith(TEMP_PREFIX)) continue;
      const st = await statOrNull(join(path, name));
      if (st) out.push(statusOf(name, st));
    }
    return out;
  }

  async mkdirs(uri: string): Promise<void> {
    await mkdir(localPathOf(uri), { recursive: true }).catch((err) => {
      throw toStrataError(err, `UFS mkdir ${uri}`);
    });
  }

  async openRange(uri: string, offset: number, length: number): Promise<Readable> {
    const path = localPathOf(uri);
    const handle = await open(path, 'r').catch((err) => {
      throw toStrataError(err, `UFS open ${path}`);
    });
    if (length <= 0) {
      await handle.close();
      return createReadStream('/dev/null');
    }
    return handle.createReadStream({ start: offset, end: offset + length - 1, highWaterMark: 1 << 20, autoClose: true });
  }

  async create(uri: string): Promise<UfsWriteStream> {
    const path = localPathOf(uri);
    await mkdir(dirname(path), { recursive: true });
    const temp = join(dirname(path), `${TEMP_PREFIX}${basename(path)}-${randomBytes(4).toString('hex')}`);
    const handle = await open(temp, 'wx', 0o644).catch((err) => {
      throw toStrataError(err, `UFS create ${path}`);
    });
    return new LocalWriteStream(handle, temp, path);
  }

  async delete(uri: string, opts: { recursive: boolean }): Promise<void> {
    const path = localPathOf(uri);
    const st = await statOrNull(path);
    if (!st) return;
    // A folder without `recursive` goes only if empty (rmdir), like the S3 connector's.
    const removal = st.isDirectory() && !opts.recursive ? rmdir(path) : rm(path, { recursive: opts.recursive, force: true });
    await removal.catch((err) => {
      throw toStrataError(err, `UFS delete ${path}`);
    });
  }

  async rename(src: string, dst: string): Promise<void> {
    const to = localPathOf(dst);
    await mkdir(dirname(to), { recursive: true });
    await rename(localPathOf(src), to).catch((err) => {
      throw toStrataError(err, `UFS rename ${src} to ${dst}`);
    });
  }

  join(base: string, relative: string): string {
    if (!relative) return base;
    return base.endsWith('/') ? base + relative : `${base}/${relative}`;
  }
}
