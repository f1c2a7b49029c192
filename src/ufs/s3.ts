/**
 * S3 under-storage (s3://bucket/prefix), the file-system view over the object layer
 * (s3-objects.ts), modelled on Alluxio's S3 UFS:
 * - A folder is a common prefix ("dir/" has keys below it) or a zero-byte marker object "dir/";
 *   mkdirs writes a marker so an empty folder exists. Listings use the "/" delimiter and follow
 *   continuation tokens, so a prefix with any number of keys is listed whole.
 * - Reads are ranged GETs; a range longer than s3.read.part.size becomes parallel part GETs
 *   (s3.read.concurrency at once) yielded in order (parallel-range-reader.ts). Chunks are handed
 *   on as the socket gives them: the block fill writes them in batches with one writev, and
 *   gathering them into bigger buffers here cost a copy and garbage collection per MiB.
 * - Writes are multipart uploads, visible only on close (s3-write-stream.ts).
 * - A file's fingerprint is its ETag, size and mtime, so an object replaced in the bucket is
 *   noticed by the next metadata sync and its stale cached blocks dropped.
 * - rename is copy then delete, key by key for a folder. It is NOT atomic: a failure midway
 *   leaves some keys at both places (never none at either), and readers may see the folder half
 *   moved. CopyObject limits one object to 5 GiB.
 * - Owner and group are the user running Strata (S3 has no POSIX owners); files 0644, folders 0755.
 * Options and their Alluxio names: s3-options.ts. The SDK is loaded on first use.
 */
import { Readable } from 'node:stream';
import { StrataError } from '../common/errors.js';
import { currentUser } from '../common/users.js';
import { readParallelRange } from './parallel-range-reader.js';
import type { ObjectMeta, S3Objects } from './s3-objects.js';
import { parseS3Options, parseS3Uri, type S3Location, type S3Settings } from './s3-options.js';
import type { MountCheck, UfsStatus, UfsWriteStream, UnderFileSystem } from './under-file-system.js';

const FILE_MODE = 0o644;
const FOLDER_MODE = 0o755;
/** Copies in flight while renaming a folder. */
const RENAME_CONCURRENCY = 8;
/** Mount-time checks give up fast: an unreachable endpoint fails `fs mount` in seconds. */
const MOUNT_CHECK = { maxRetries: 2, connectTimeoutMs: 2_000, requestTimeoutMs: 10_000 };

const lastName = (key: string): string => key.slice(key.lastIndexOf('/') + 1);

export class S3UnderFileSystem implements UnderFileSystem, MountCheck {
  readonly scheme = 's3';
  private readonly settings: S3Settings;
  private readonly owner = currentUser();
  private objectsLoading?: Promise<S3Objects>;

  constructor(uri: string, options: Record<string, string>) {
    parseS3Uri(uri);
    this.settings = parseS3Options(options);
  }

  private objects(): Promise<S3Objects> {
    this.objectsLoading ??= newObjects(this.settings);
    return this.objectsLoading;
  }

  private fileStatus(name: string, o: ObjectMeta): UfsStatus {
    return {
      name,
      folder: false,
      length: o.size,
      lastModifiedMs: o.lastModifiedMs,
      mode: FILE_MODE,
      owner: this.owner.user,
      group: this.owner.group,
      fingerprint: `${o.etag}:${o.size}:${o.lastModifiedMs}`,
    };
  }

  private folderStatus(name: string, lastModifiedMs = Date.now()): UfsStatus {
    return { name, folder: true, length: 0, lastModifiedMs, mode: FOLDER_MODE, owner: this.owner.user, group: this.owner.group, fingerprint: '' };
  }

  async getStatus(uri: string): Promise<UfsStatus | null> {
    return this.statusWith(await this.objects(), parseS3Uri(uri));
  }

  private async statusWith(objects: S3Objects, { bucket, key }: S3Location): Promise<UfsStatus | null> {
    if (!key) {
      try {
        await objects.headBucket(bucket);
      } catch (err) {
        if (StrataError.isCode(err, 'NOT_FOUND')) return null;
        throw err;
      }
      return this.folderStatus(bucket);
    }
    const file = await objects.head(bucket, key);
    if (file) return this.fileStatus(lastName(key), file);
    const page = await objects.listPage(bucket, `${key}/`, { maxKeys: 1 });
    if (page.objects.length === 0 && page.prefixes.length === 0) return null;
    const marker = page.objects[0]?.key === `${key}/` ? page.objects[0] : undefined;
    return this.folderStatus(lastName(key), marker?.lastModifiedMs);
  }

  async checkMount(uri: string): Promise<UfsStatus | null> {
    const probe = await newObjects({ ...this.settings, ...MOUNT_CHECK, maxRetries: Math.min(this.settings.maxRetries, MOUNT_CHECK.maxRetries) });
    try {
      const at = parseS3Uri(uri);
      await probe.headBucket(at.bucket);
      return await this.statusWith(probe, at);
    } finally {
      probe.destroy();
    }
  }

  async listStatus(uri: string): Promise<UfsStatus[] | null> {
    const { bucket, key } = parseS3Uri(uri);
    const objects = await this.objects();
    const prefix = key ? `${key}/` : '';
    const byName = new Map<string, UfsStatus>();
    let marker = false;
    let token: string | undefined;
    do {
      const page = await objects.listPage(bucket, prefix, { delimiter: '/', token });
      for (const o of page.objects) {
        const name = o.key.slice(prefix.length);
        if (!name) marker = true;
        else if (!name.includes('/')) byName.set(name, this.fileStatus(name, o));
      }
      for (const p of page.prefixes) {
        const name = p.slice(prefix.length, -1);
        if (name && !byName.has(name)) byName.set(name, this.folderStatus(name));
      }
      token = page.next;
    } while (token);
    // Some S3-compatible servers (s3rver) make common prefixes only of keys one level down: a
    // folder whose children are all folders lists empty. Its keys tell them then.
    if (byName.size === 0 && !marker) marker = await this.childrenFromKeys(objects, bucket, prefix, byName);
    if (byName.size === 0 && !marker && key) {
      // No keys below: an empty listing only if this is no folder at all.
      return null;
    }
    return [...byName.values()];
  }

  /**
   * The children of `prefix` found from its keys, without the delimiter: one request per child
   * folder (the listing then skips past that folder's keys) plus the pages of its files. True
   * when the folder's own marker object is among them.
   */
  private async childrenFromKeys(objects: S3Objects, bucket: string, prefix: string, into: Map<string, UfsStatus>): Promise<boolean> {
    let marker = false;
    let startAfter: string | undefined;
    let token: string | undefined;
    // Folders skipped once: keys of theirs that sort after the skip (S3 orders UTF-8 bytes,
    // s3rver UTF-16 units) are read through, never skipped again, so the walk always advances.
    const skipped = new Set<string>();
    for (;;) {
      const page = await objects.listPage(bucket, prefix, token ? { token } : { startAfter });
      let skipTo: string | undefined;
      for (const o of page.objects) {
        const rest = o.key.slice(prefix.length);
        const slash = rest.indexOf('/');
        if (!rest) marker = true;
        else if (slash < 0) into.set(rest, this.fileStatus(rest, o));
        else {
          const name = rest.slice(0, slash);
          if (skipped.has(name)) continue;
          skipped.add(name);
          if (name && !into.has(name)) into.set(name, this.folderStatus(name));
          // Past the folder's keys: the highest code point after its slash.
          skipTo = `${prefix}${name}/\u{10FFFF}`;
          break;
        }
      }
      if (skipTo) {
        startAfter = skipTo;
        token = undefined;
      } else if (page.next) {
        token = page.next;
      } else {
        return marker;
      }
    }
  }

  async mkdirs(uri: string): Promise<void> {
    const { bucket, key } = parseS3Uri(uri);
    if (!key) return;
    const objects = await this.objects();
    if (await objects.head(bucket, key)) throw new StrataError('ALREADY_EXISTS', `Cannot create folder ${uri}: an object exists there`);
    await objects.putEmpty(bucket, `${key}/`);
  }

  async openRange(uri: string, offset: number, length: number): Promise<Readable> {
    if (length <= 0) return Readable.from([]);
    const { bucket, key } = parseS3Uri(uri);
    const objects = await this.objects();
    const { readPartSize: partSize, readConcurrency: concurrency } = this.settings;
    if (length <= partSize || concurrency === 1) return objects.getStream(bucket, key, offset, length);
    return readParallelRange((at, n, signal) => objects.getPart(bucket, key, at, n, signal), { address: uri, offset, length, partSize, concurrency });
  }

  async create(uri: string): Promise<UfsWriteStream> {
    const { bucket, key } = parseS3Uri(uri);
    if (!key) throw new StrataError('INVALID_ARGUMENT', `Cannot write a file at the bucket root ${uri}`);
    const objects = await this.objects();
    return objects.upload(bucket, key, async () => {
      const status = await this.getStatus(uri);
      if (!status || status.folder) throw new StrataError('DATA_LOSS', `${uri} is not in S3 right after its upload completed`);
      return status;
    });
  }

  async delete(uri: string, opts: { recursive: boolean }): Promise<void> {
    const { bucket, key } = parseS3Uri(uri);
    if (!key) throw new StrataError('INVALID_ARGUMENT', `Refusing to delete everything in bucket ${bucket}`);
    const objects = await this.objects();
    if (await objects.head(bucket, key)) {
      await objects.deleteKeys(bucket, [key]);
      return;
    }
    const prefix = `${key}/`;
    if (!opts.recursive) {
      const page = await objects.listPage(bucket, prefix, { maxKeys: 2 });
      if (page.objects.some((o) => o.key !== prefix)) throw new StrataError('DIRECTORY_NOT_EMPTY', `Cannot delete ${uri}: folder is not empty`);
      if (page.objects.length > 0) await objects.deleteKeys(bucket, [prefix]);
      return;
    }
    const keys: string[] = [];
    for await (const o of objects.keysUnder(bucket, prefix)) keys.push(o.key);
    await objects.deleteKeys(bucket, keys);
  }

  async rename(src: string, dst: string): Promise<void> {
    const from = parseS3Uri(src);
    const to = parseS3Uri(dst);
    if (from.bucket !== to.bucket) throw new StrataError('INVALID_ARGUMENT', `Cannot rename ${src} to ${dst}: different buckets`);
    if (!from.key || !to.key) throw new StrataError('INVALID_ARGUMENT', `Cannot rename ${src} to ${dst}: a bucket root cannot move`);
    const objects = await this.objects();
    if (await objects.head(from.bucket, from.key)) {
      await objects.copy(from.bucket, from.key, to.key);
      await objects.deleteKeys(from.bucket, [from.key]);
      return;
    }
    const keys: string[] = [];
    for await (const o of objects.keysUnder(from.bucket, `${from.key}/`)) keys.push(o.key);
    if (keys.length === 0) throw new StrataError('NOT_FOUND', `Cannot rename ${src}: it does not exist`);
    let next = 0;
    const copyNext = async (): Promise<void> => {
      while (next < keys.length) {
        const k = keys[next++]!;
        await objects.copy(from.bucket, k, `${to.key}/${k.slice(from.key.length + 1)}`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(RENAME_CONCURRENCY, keys.length) }, copyNext));
    await objects.deleteKeys(from.bucket, keys);
  }

  join(base: string, relative: string): string {
    if (!relative) return base;
    return base.endsWith('/') ? base + relative : `${base}/${relative}`;
  }

  async close(): Promise<void> {
    const loading = this.objectsLoading;
    this.objectsLoading = undefined;
    if (loading) (await loading.catch(() => undefined))?.destroy();
  }
}

async function newObjects(settings: S3Settings): Promise<S3Objects> {
  const { S3Objects } = await import('./s3-objects.js');
  return new S3Objects(settings);
}
