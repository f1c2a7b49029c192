/**
 * The file-system view a POSIX mount needs, over Strata's client, knowing nothing of FUSE:
 * paths relative to the mounted Strata folder, metadata with a short-lived cache, reads through
 * ReadHandle, writes staged locally (StagedFile) and committed on flush/release. Errors are
 * StrataErrors; the FUSE edge turns them into errno.
 */
import { mkdirSync } from 'node:fs';
import type { FileSystem } from '../../client/file-system.js';
import { StrataError } from '../../common/errors.js';
import type { Logger } from '../../common/logging.js';
import { baseName, joinPath, normalizePath, parentPath } from '../../common/paths.js';
import type { FileInfo, MountPointInfo, ReadType, TierUsage, WriteType } from '../../common/types.js';
import { FolderPrefetch, type FolderPrefetchOptions } from './folder-prefetch.js';
import { PrefetchWarmer } from './prefetch-warmer.js';
import { MetadataCache } from './metadata-cache.js';
import { ReadHandle } from './read-handle.js';
import { RemovalWatch } from './removal-watch.js';
import { StagedFile } from './staged-file.js';
import { WarmHandles, type WarmHandlesOptions } from './warm-handles.js';

export interface VfsOptions {
  root: string;
  scratchDir: string;
  metadataExpiryMs: number;
  metadataMaxEntries: number;
  readType: ReadType;
  writeType: WriteType;
  umask: number;
  logger: Logger;
  warmHandles: WarmHandlesOptions;
  folderPrefetch: FolderPrefetchOptions;
}

/** Told of changes to the metadata cache, so that copies of it elsewhere (native LOOKUP answers) follow. */
export interface MetadataObserver {
  /** Some cached metadata was dropped: no copy of any of it is good any more. */
  invalidated(): void;
  /** A folder listing starts; what it returns gets the listing's entries once they are cached. */
  listing(): (folder: string, infos: FileInfo[], freshForMs: number) => void;
}

export type VfsHandle = { kind: 'read'; read: ReadHandle } | { kind: 'write'; staged: StagedFile };

const O_ACCMODE = 3;
const O_TRUNC = 0o1000;
/** Synthetic inode numbers for files that exist only as staged writes, far above Strata's file ids. */
let nextStagedIno = 2 ** 40;
/**
 * A lookup that misses the cache in a folder listed before (or being looked up file by file), of
 * at most this many entries, lists the folder: a training job opening every file of a folder
 * then costs one master call per folder and expiry period, not one per file.
 */
const RELIST_MAX_ENTRIES = 4096;
/** How often the local worker is asked which prefetched files are in (while some are awaited). */
const PREFETCH_POLL_MS = 50;
/** How often workers are asked which files kept open here left their cache. */
const REMOVAL_POLL_MS = 2000;
/** How long a prefetched file is awaited before it is left to its readers. */
const PREFETCH_WAIT_MS = 120_000;
const LISTED_FOLDERS_MAX = 1024;
/** The latest listings kept whole, for a folder prefetch to start from instead of listing again. */
const RECENT_LISTINGS_MAX = 64;

export class Vfs {
  private readonly cache: MetadataCache;
  private readonly staged = new Map<string, StagedFile>();
  private mounts?: { at: number; list: MountPointInfo[] };
  private readonly warm: WarmHandles;
  private readonly prefetch: FolderPrefetch;
  private readonly warmer: PrefetchWarmer;
  private readonly removals: RemovalWatch;
  /** Folders listed through the mount, with their size and time then (a hint of what to re-list). */
  private readonly listed = new Map<string, { size: number; atMs: number }>();
  private readonly relists = new Map<string, Promise<unknown>>();
  /** Lookups that missed the cache in folders never listed, by folder. */
  private readonly misses = new Map<string, number>();
  /** The entries of the folders listed last, by mount path, with when. */
  private readonly recentListings = new Map<string, { infos: FileInfo[]; atMs: number }>();
  observer?: MetadataObserver;
  /** A file is held open now, ahead of its next open (a prefetch loaded it, or a reader did). */
  onWarm?: (path: string, info: FileInfo) => void;

  constructor(
    readonly fs: FileSystem,
    readonly opts: VfsOptions,
  ) {
    this.cache = new MetadataCache({
      expiryMs: opts.metadataExpiryMs,
      maxEntries: opts.metadataMaxEntries,
      onInvalidate: () => this.observer?.invalidated(),
    });
    mkdirSync(opts.scratchDir, { recursive: true, mode: 0o700 });
    this.warm = new WarmHandles(opts.warmHandles);
    this.removals = new RemovalWatch(fs, this.warm, REMOVAL_POLL_MS, opts.logger);
    this.warmer = new PrefetchWarmer(
      fs,
      (info) => {
        if (this.warm.wants(info)) void this.warmUp(info);
      },
      { pollMs: opts.warmHandles.idleMs > 0 ? PREFETCH_POLL_MS : 0, maxWaitMs: PREFETCH_WAIT_MS },
      opts.logger,
    );
    this.prefetch = new FolderPrefetch(fs, opts.folderPrefetch, opts.logger, this.warmer, (folder) => {
      const path = this.mountPath(folder);
      const listing = path === undefined ? undefined : this.recentListings.get(path);
      return listing && Date.now() - listing.atMs < this.opts.metadataExpiryMs ? listing.infos : undefined;
    });
  }

  /** The path inside the mount of a Strata path; undefined if it lies outside. */
  private mountPath(strataPath: string): string | undefined {
    const root = this.opts.root;
    if (root === '/') return strataPath;
    if (strataPath === root) return '/';
    return strataPath.startsWith(`${root}/`) ? strataPath.slice(root.length) : undefined;
  }

  /** The Strata path of a path inside the mount. */
  strataPath(path: string): string {
    return path === '/' ? this.opts.root : normalizePath(joinPath(this.opts.root, path.slice(1)));
  }

  private stagedInfo(s: StagedFile, base?: FileInfo): FileInfo {
    return {
      ...(base ?? this.syntheticInfo(s)),
      length: s.size,
      lastModificationTimeMs: s.mtimeMs,
    };
  }

  private syntheticInfo(s: StagedFile): FileInfo {
    return {
      fileId: s.ino,
      path: this.strataPath(s.path),
      name: baseName(s.path),
      folder: false,
      length: s.size,
      blockSize: 0,
      completed: false,
      mode: s.mode & 0o7777,
      owner: '',
      group: '',
      lastModificationTimeMs: s.mtimeMs,
      creationTimeMs: s.mtimeMs,
      persistenceState: 'NOT_PERSISTED',
      pinned: false,
      ttl: -1,
      ttlAction: 'FREE',
      children: 0,
      inMemoryPercentage: 0,
      inAlluxioPercentage: 0,
      mountPoint: false,
      mountId: 0,
      ufsPath: '',
      fingerprint: '',
    };
  }

  async stat(path: string): Promise<FileInfo> {
    const s = this.staged.get(path);
    const cached = this.cache.get(path);
    if (s) return this.stagedInfo(s, cached ?? (await this.fs.getStatus(this.strataPath(path)).catch(() => undefined)));
    if (cached) return cached;
    const folder = parentPath(path);
    if (this.worthListing(folder)) {
      await this.relist(folder).catch(() => undefined);
      const fresh = this.cache.get(path);
      if (fresh) return fresh;
    }
    const info = await this.fs.getStatus(this.strataPath(path));
    this.cache.put(path, info);
    return info;
  }

  /** How much longer the cached metadata of `path` is trusted: 0 if it is not cached, or is being written. */
  freshForMs(path: string): number {
    const e = this.staged.has(path) ? undefined : this.cache.entry(path);
    return e ? e.at + this.cache.expiryMs - Date.now() : 0;
  }

  /**
   * Whether a lookup that missed the cache should list its whole folder: one listed before (and
   * small), or one never listed that is small and whose files are being looked up one by one (a
   * program opening files by name, from an index, without listing): one call then answers the
   * folder's lookups, and its opens, for the expiry period.
   */
  private worthListing(folder: string): boolean {
    const listed = this.listed.get(folder);
    // Listed within the expiry, the name was not in it: a program probing for names (an import,
    // a lock file) asks for that one name, not for the whole folder again.
    if (listed !== undefined) return listed.size <= RELIST_MAX_ENTRIES && Date.now() - listed.atMs >= this.opts.metadataExpiryMs;
    const info = this.cache.get(folder);
    if (!info?.folder || info.children < 2 || info.children > RELIST_MAX_ENTRIES) return false;
    const misses = (this.misses.get(folder) ?? 0) + 1;
    this.misses.delete(folder);
    this.misses.set(folder, misses);
    if (this.misses.size > LISTED_FOLDERS_MAX) this.misses.delete(this.misses.keys().next().value!);
    return misses >= 2;
  }

  /** One listing for every concurrent lookup that wants it. */
  private relist(folder: string): Promise<unknown> {
    let p = this.relists.get(folder);
    if (!p) {
      p = this.listInto(folder).finally(() => this.relists.delete(folder));
      this.relists.set(folder, p);
    }
    return p;
  }

  /** Lists a Strata folder into the metadata cache. */
  private async listInto(path: string): Promise<FileInfo[]> {
    const observed = this.observer?.listing();
    // With block locations: opening any of these files then needs no master call.
    const infos = await this.fs.listStatus(this.strataPath(path), { blocks: true });
    for (const info of infos) this.cache.put(joinPath(path, info.name), info);
    observed?.(path, infos.filter((info) => !this.staged.has(joinPath(path, info.name))), this.cache.expiryMs);
    this.listed.delete(path);
    this.listed.set(path, { size: infos.length, atMs: Date.now() });
    this.recentListings.delete(path);
    this.recentListings.set(path, { infos, atMs: Date.now() });
    if (this.recentListings.size > RECENT_LISTINGS_MAX) this.recentListings.delete(this.recentListings.keys().next().value!);
    this.misses.delete(path);
    if (this.listed.size > LISTED_FOLDERS_MAX) this.listed.delete(this.listed.keys().next().value!);
    return infos;
  }

  async list(path: string): Promise<FileInfo[]> {
    const infos = await this.listInto(path);
    const byName = new Map<string, FileInfo>();
    for (const info of infos) byName.set(info.name, info);
    for (const [p, s] of this.staged) {
      if (parentPath(p) === path) byName.set(baseName(p), this.stagedInfo(s, byName.get(baseName(p))));
    }
    return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async mkdir(path: string, mode: number): Promise<FileInfo> {
    this.cache.invalidate(path);
    return this.fs.createDirectory(this.strataPath(path), { mode: mode & 0o7777 & ~this.opts.umask, writeType: this.opts.writeType });
  }

  async unlink(path: string): Promise<void> {
    const info = await this.stat(path);
    if (info.folder) throw new StrataError('IS_A_DIRECTORY', `${path} is a folder`);
    this.cache.invalidate(path);
    const s = this.staged.get(path);
    if (s) {
      // Open handles keep writing to the scratch copy, which is no longer committed anywhere.
      s.unlinked = true;
      this.staged.delete(path);
      if (!info.completed) return;
    }
    await this.fs.delete(this.strataPath(path));
  }

  async rmdir(path: string): Promise<void> {
    const info = await this.stat(path);
    if (!info.folder) throw new StrataError('NOT_A_DIRECTORY', `${path} is not a folder`);
    this.cache.invalidate(path);
    await this.fs.delete(this.strataPath(path), { recursive: false });
  }

  async rename(src: string, dst: string, noReplace: boolean): Promise<void> {
    for (const p of [src, dst]) {
      const s = this.staged.get(p);
      if (s?.dirty) await this.flush(s);
    }
    this.cache.invalidate(src);
    this.cache.invalidate(dst);
    const existing = await this.fs.getStatus(this.strataPath(dst)).catch((err: unknown) => {
      if (StrataError.isCode(err, 'NOT_FOUND')) return undefined;
      throw err;
    });
    if (existing) {
      if (noReplace) throw new StrataError('ALREADY_EXISTS', `${dst} exists`);
      const srcInfo = await this.fs.getStatus(this.strataPath(src));
      if (existing.folder && !srcInfo.folder) throw new StrataError('IS_A_DIRECTORY', `${dst} is a folder`);
      if (!existing.folder && srcInfo.folder) throw new StrataError('NOT_A_DIRECTORY', `${dst} is not a folder`);
      if (existing.folder && existing.children > 0) throw new StrataError('DIRECTORY_NOT_EMPTY', `${dst} is not empty`);
      // POSIX rename replaces the target.
      await this.fs.delete(this.strataPath(dst), { recursive: false });
    }
    // Strata's rename moves into an existing folder; the target is gone now, so this is a plain rename.
    await this.fs.rename(this.strataPath(src), this.strataPath(dst));
    const open = this.staged.get(src);
    if (open) {
      this.staged.delete(src);
      open.path = dst;
      this.staged.set(dst, open);
    }
  }

  async setattr(path: string, a: { mode?: number; owner?: string; group?: string; size?: number }): Promise<FileInfo> {
    this.cache.invalidate(path);
    if (a.size !== undefined) {
      const open = this.staged.get(path);
      if (open) {
        await open.truncate(a.size);
      } else {
        // A truncate of a closed file: stage it, cut it, commit it.
        const s = await this.stage(path, { truncate: a.size === 0 });
        try {
          await s.truncate(a.size);
          await this.flush(s);
        } finally {
          await this.release(s);
        }
      }
    }
    if (a.mode !== undefined || a.owner !== undefined || a.group !== undefined) {
      const s = this.staged.get(path);
      if (s?.dirty) await this.flush(s);
      await this.fs.setAttribute(this.strataPath(path), { mode: a.mode === undefined ? undefined : a.mode & 0o7777, owner: a.owner, group: a.group });
    }
    this.cache.invalidate(path);
    return this.stat(path);
  }

  async statfs(): Promise<{ tiers: TierUsage[] }> {
    const { tiers } = await this.fs.capacity();
    return { tiers };
  }

  // ---- opening files ----

  async open(path: string, flags: number): Promise<VfsHandle> {
    const writing = (flags & O_ACCMODE) !== 0;
    if (writing) {
      const staged = await this.stage(path, { truncate: (flags & O_TRUNC) !== 0 });
      return { kind: 'write', staged };
    }
    const stagedNow = this.staged.get(path);
    if (stagedNow) {
      stagedNow.refs++;
      return { kind: 'write', staged: stagedNow };
    }
    const entry = this.cache.entry(path);
    const known = entry?.info;
    if (known && !known.folder) {
      const warm = await this.warm.take(known, entry.at);
      if (warm) return { kind: 'read', read: warm };
      const opened =
        (await ReadHandle.openWhollyCached(this.fs, known, this.opts.readType)) ??
        // Blocks and locations from a fresh listing: a cold file opens without a master call.
        (known.blocks && known.completed ? await ReadHandle.open(this.fs, known, this.opts.readType) : undefined);
      if (opened) return this.opened(path, opened);
    }
    const info = await this.fs.getStatus(this.strataPath(path), { blocks: true });
    if (info.folder) throw new StrataError('IS_A_DIRECTORY', `${path} is a folder`);
    this.cache.put(path, info);
    const warm = await this.warm.take(info);
    return warm ? { kind: 'read', read: warm } : this.opened(path, await ReadHandle.open(this.fs, info, this.opts.readType));
  }

  /** A file opened afresh (not a warm handle's new open). */
  private opened(path: string, h: ReadHandle): VfsHandle {
    this.warmer.opened(h.info.fileId);
    if (!h.wholeFile && h.info.inAlluxioPercentage < 100 && this.opts.readType !== 'NO_CACHE') {
      this.prefetch.coldOpen(this.strataPath(path), h.info, this.cache.get(parentPath(path))?.children);
    }
    return { kind: 'read', read: this.warm.adopt(h) };
  }

  /** The handle kept open on this file (leased ahead of its opens, or kept from the last), if any. */
  warmHandle(path: string, info: FileInfo): ReadHandle | undefined {
    return info.folder || this.staged.has(path) ? undefined : this.warm.peek(info);
  }

  /** Whether a read handle is kept open between opens (a warm handle). */
  keeps(h: ReadHandle): boolean {
    return this.warm.holds(h);
  }

  /** The last close of a read: a wholly cached file stays open a while for the next open. */
  async releaseRead(h: ReadHandle): Promise<void> {
    if (await this.warm.release(h)) return;
    // Read cold to the end, it holds the whole file under its leases now: kept for the next open.
    if (h.wholeFile && (await this.warm.adoptIdle(h))) return;
    await h.release();
    // A small file this handle read cold is cached whole now: lease it in the background, so
    // that the next epoch's first open is already warm.
    const blocks = h.info.blocks?.length ?? 0;
    if (blocks > 0 && h.filled.size === blocks && this.warm.wants(h.info)) void this.warmUp(h.info);
  }

  private async warmUp(info: FileInfo): Promise<void> {
    const cached = { ...info, inAlluxioPercentage: 100 };
    const h = await ReadHandle.openWhollyCached(this.fs, cached, this.opts.readType).catch(() => undefined);
    if (!h) return;
    if (!(await this.warm.adoptIdle(h))) return h.release();
    const path = this.mountPath(info.path);
    if (path !== undefined) this.onWarm?.(path, h.info);
  }

  /** Closes what the mount keeps open between opens (at unmount). */
  async close(): Promise<void> {
    this.prefetch.close();
    this.removals.close();
    await this.warm.closeAll();
  }

  /** Writes are staged locally, so a read-only mount must refuse them up front, not at close. */
  private async checkWritable(path: string): Promise<void> {
    if (!this.mounts || Date.now() - this.mounts.at > this.opts.metadataExpiryMs) {
      this.mounts = { at: Date.now(), list: await this.fs.getMountTable() };
    }
    const target = this.strataPath(path);
    const mount = this.mounts.list
      .filter((m) => target === m.path || target.startsWith(m.path === '/' ? '/' : `${m.path}/`))
      .sort((a, b) => b.path.length - a.path.length)[0];
    if (mount?.readOnly) throw new StrataError('READ_ONLY', `${target} is on read-only mount ${mount.path}`);
  }

  async create(path: string, mode: number): Promise<VfsHandle> {
    if (this.staged.has(path)) throw new StrataError('ALREADY_EXISTS', `${path} exists`);
    await this.checkWritable(path);
    const parent = await this.stat(parentPath(path));
    if (!parent.folder) throw new StrataError('NOT_A_DIRECTORY', `${parentPath(path)} is not a folder`);
    const s = await StagedFile.create({ path, scratchDir: this.opts.scratchDir, mode: mode & ~this.opts.umask, ino: nextStagedIno++ });
    try {
      await s.startStream(this.fs, this.strataPath(path), this.opts.writeType);
    } catch (err) {
      await s.dispose();
      throw err;
    }
    s.refs = 1;
    s.dirty = true;
    this.staged.set(path, s);
    this.cache.invalidate(path);
    return { kind: 'write', staged: s };
  }

  private async stage(path: string, opts: { truncate: boolean }): Promise<StagedFile> {
    await this.checkWritable(path);
    let s = this.staged.get(path);
    if (s) {
      s.refs++;
      if (opts.truncate) await s.truncate(0);
      return s;
    }
    const info = await this.fs.getStatus(this.strataPath(path));
    if (info.folder) throw new StrataError('IS_A_DIRECTORY', `${path} is a folder`);
    s = await StagedFile.create({ path, scratchDir: this.opts.scratchDir, mode: info.mode, ino: info.fileId });
    s.refs = 1;
    this.staged.set(path, s);
    try {
      if (opts.truncate) await s.truncate(0);
      else await s.loadFrom(this.fs, this.strataPath(path));
    } catch (err) {
      s.unlinked = true;
      await this.release(s);
      throw err;
    }
    return s;
  }

  /** Commits a staged file if it changed (close, fsync). */
  async flush(s: StagedFile): Promise<void> {
    if (!s.dirty || s.unlinked) return;
    await s.commit(this.fs, this.strataPath(s.path), this.opts.writeType);
    this.cache.invalidate(s.path);
  }

  /** The last release of a staged file commits it and removes the scratch copy. */
  async release(s: StagedFile): Promise<void> {
    if (--s.refs > 0) return;
    try {
      await this.flush(s);
    } finally {
      if (this.staged.get(s.path) === s) this.staged.delete(s.path);
      this.cache.invalidate(s.path);
      await s.dispose();
    }
  }

  /** Files still being written, for a clean unmount. */
  get openWrites(): number {
    return this.staged.size;
  }
}
