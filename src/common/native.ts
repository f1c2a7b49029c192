/** Loads the small native helper (native/, built by `npm run build` with node-gyp). */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { existsSync } from 'node:fs';

export interface StrataNative {
  punchHole(fd: number, offset: number, length: number): void;
  /** Drops a file's clean pages from the page cache (posix_fadvise DONTNEED). */
  dropFileCache(fd: number): void;
  fuseOpenDevice(): number;
  fuseMount(fd: number, mountPoint: string, fsname: string, options: string): void;
  fuseMountWithFusermount(mountPoint: string, options: string): number;
  fuseUnmount(mountPoint: string, lazy: boolean): void;
  /**
   * Reads requests on a native thread; `onRequest(null, errno)` once the device is closed.
   * GETXATTR of names outside `xattrPrefix` is answered ENODATA there and never reaches JS.
   */
  fuseStartReader(fd: number, bufferSize: number, onRequest: (request: Buffer | null, errno: number | null) => void, xattrPrefix?: string, threads?: number): void;
  /** Answers a READ with bytes of a local file, off the main thread; bytes sent or -errno. */
  /** Requests the reader threads answered themselves (all sessions of the process), indexed by opcode. */
  fuseNativeAnswers(): number[];
  fuseReplyFromFd(fuseFd: number, unique: bigint, fileFd: number, offset: number, size: number): Promise<number>;
  /**
   * From now on, READs of handle `fh` (a file of `length` bytes) that lie inside [lo, hi) (the
   * whole file unless given) are answered by the reader threads from `fileFd`, at the same
   * offsets, never reaching JavaScript. Called again, it moves the range; every descriptor given
   * must stay open until fuseUnserve.
   */
  fuseServeFromFd(fuseFd: number, fh: bigint, fileFd: number, length: number, lo?: number, hi?: number): void;
  /** Stops that; returns once no READ of `fh` is being answered, so `fileFd` may close. */
  fuseUnserve(fuseFd: number, fh: bigint): void;
  /**
   * From now on, read-only OPENs of inode `nodeid` are answered by the reader threads with a
   * new handle (`openFlags`, `backingId`; READs, if any, from `fileFd`), and so are their RELEASEs.
   */
  fuseOpenerAdd(fuseFd: number, nodeid: bigint, openFlags: number, backingId: number, fileFd: number, length: number): void;
  /** Stops that, unless the kernel holds such handles or one was made within `minIdleMs`: false then. */
  fuseOpenerRemove(fuseFd: number, nodeid: bigint, minIdleMs: number): boolean;
  /** Handles of the inode the kernel holds that were opened by the reader threads. */
  fuseOpenerRefs(fuseFd: number, nodeid: bigint): number;
  /** The session ended: forgets every handle served and every inode opened natively. */
  fuseForgetSession(fuseFd: number): void;
  /** LOOKUPs of `name` in `parent` are answered with `entryOut` for `validMs`, unless invalidated first. */
  fuseEntrySet(fuseFd: number, parent: bigint, name: string, nodeid: bigint, entryOut: Buffer, validMs: number): void;
  /** LOOKUPs of `nodeid` answered natively since the last take; `drop` removes its entry. */
  fuseEntryTake(fuseFd: number, nodeid: bigint, drop: boolean): number;
  /** No entry set so far answers again. */
  fuseEntriesInvalidate(): void;
  fuseBackingOpen(fuseFd: number, fd: number): number;
  fuseBackingClose(fuseFd: number, backingId: number): void;
}

/** The package root: two levels above this file in both src/ and dist/src/. */
export function packageRoot(): string {
  let dir = fileURLToPath(new URL('.', import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = join(dir, '..');
    if (up === dir) throw new Error('Cannot find the Strata package root');
    dir = up;
  }
  return dir;
}

let loaded: StrataNative | undefined;

export function native(): StrataNative {
  if (!loaded) {
    const require = createRequire(import.meta.url);
    const path = join(packageRoot(), 'build', 'Release', 'strata_native.node');
    if (!existsSync(path)) throw new Error(`Native helper missing at ${path}: run npm run build`);
    loaded = require(path) as StrataNative;
  }
  return loaded;
}
