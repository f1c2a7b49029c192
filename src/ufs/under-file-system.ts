/**
 * The under-storage interface. Every call is idempotent and takes paths as full UFS URIs
 * (file:///data/x, s3://bucket/key) or, for local folders, plain absolute paths. A connector is
 * one file that registers itself by URI scheme (registry.ts); wrappers (a prefix, a rate limit)
 * compose around another connector instead of adding flags to it.
 */
import type { Readable } from 'node:stream';

export interface UfsStatus {
  name: string;
  folder: boolean;
  length: number;
  lastModifiedMs: number;
  mode: number;
  owner: string;
  group: string;
  /** Changes whenever the content may have changed (size, mtime, ETag). */
  fingerprint: string;
}

export interface UfsWriteStream {
  /** Writes a chunk; resolves once it may be reused. */
  write(chunk: Uint8Array): Promise<void>;
  /** Makes the file visible at its path, whole (never half-written), and returns its status. */
  close(): Promise<UfsStatus>;
  /** Drops what was written; the path is left as it was. */
  abort(): Promise<void>;
}

export interface UnderFileSystem {
  /** The scheme this connector serves ("file", "s3"). */
  readonly scheme: string;
  /** Status of a file or folder, or null when it does not exist. */
  getStatus(path: string): Promise<UfsStatus | null>;
  /** Children of a folder, or null when the folder does not exist. */
  listStatus(path: string): Promise<UfsStatus[] | null>;
  /** Creates a folder and its missing parents; true if it was created or already existed. */
  mkdirs(path: string): Promise<void>;
  /** Streams `length` bytes of a file from `offset`. */
  openRange(path: string, offset: number, length: number): Promise<Readable>;
  /** Starts writing a whole file; it appears at `path` only on close(). */
  create(path: string): Promise<UfsWriteStream>;
  /** Deletes a file, or a folder with everything below it when recursive. */
  delete(path: string, opts: { recursive: boolean }): Promise<void>;
  rename(src: string, dst: string): Promise<void>;
  /** Joins a UFS base URI and a relative Strata path ("a/b"). */
  join(base: string, relative: string): string;
  close?(): Promise<void>;
}

/**
 * Optional ability: a quick, fail-fast check of a UFS address before it is mounted (the bucket
 * exists, the credentials work, the server answers), with a short retry budget so that `fs mount`
 * of an unreachable store fails in seconds. Returns the address's status like getStatus.
 */
export interface MountCheck {
  checkMount(path: string): Promise<UfsStatus | null>;
}

export function hasMountCheck(ufs: UnderFileSystem): ufs is UnderFileSystem & MountCheck {
  return typeof (ufs as Partial<MountCheck>).checkMount === 'function';
}

export type UfsFactory = (uri: string, options: Record<string, string>) => UnderFileSystem;
