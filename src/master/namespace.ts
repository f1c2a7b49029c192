/**
 * The namespace: one inode tree over all mounts, with the operations of Alluxio's
 * FileSystemMaster. Every change is one SQLite transaction, made after the UFS side succeeded,
 * so a failed UFS call leaves the namespace as it was. Paths are resolved component by
 * component, loading missing entries from the UFS on the way.
 */
import { StrataError } from '../common/errors.js';
import type { Logger } from '../common/logging.js';
import { baseName, joinPath, normalizePath, parentPath, pathComponents, isUnder } from '../common/paths.js';
import { blockIdOf, type FileInfo, type SetAttributeOptions, type WriteType } from '../common/types.js';
import { blockCount, toFileInfo } from './file-info.js';
import { ROOT_ID, type InodeRow, type MetaStore } from './metastore.js';
import type { MountTable } from './mount-table.js';
import type { Caller, PermissionChecker } from './permissions.js';
import { UfsSync } from './ufs-sync.js';
import { createUfs } from '../ufs/registry.js';
import { hasMountCheck } from '../ufs/under-file-system.js';
import type { WorkerRegistry } from './worker-registry.js';

export interface NamespaceDeps {
  store: MetaStore;
  mounts: MountTable;
  workers: WorkerRegistry;
  permissions: PermissionChecker;
  logger: Logger;
  /** Tells workers to drop blocks now; one that cannot be reached is told at its next heartbeat. */
  removeBlocksOnWorkers(byWorker: Map<number, number[]>): Promise<void>;
  /** Tells every live worker to drop what it has queued to prefetch of these files (best effort). */
  forgetPrefetches(fileIds: number[]): Promise<void>;
  /** Tells workers the pinned files now, so a pin holds before the next heartbeat. */
  pinsChanged(pinnedFileIds: number[]): Promise<void>;
  syncIntervalMs: number;
  defaultBlockSize: number;
  umask: number;
}

interface Resolved {
  chain: InodeRow[];
  paths: string[];
  inode: InodeRow;
  path: string;
}

export interface SyncOptions {
  /** Re-sync with the UFS now, whatever the interval. */
  forceSync?: boolean;
  /** The caller's strata.user.file.metadata.sync.interval. */
  syncIntervalMs?: number;
}


export class Namespace {
  readonly sync: UfsSync;

  constructor(private readonly d: NamespaceDeps) {
    this.sync = new UfsSync(d.store, d.mounts, { blockSize: d.defaultBlockSize }, {
      dropBlocks: (file) => this.dropFileBlocks([file]),
      removeSubtree: (inode) => this.dropFileBlocks(this.removeSubtreeRows(inode)),
    });
  }

  // ---- resolution ----

  /** The sync interval of a call: forced (0), the caller's, or the master's default. */
  private interval(opts: SyncOptions): number {
    return opts.forceSync ? 0 : (opts.syncIntervalMs ?? this.d.syncIntervalMs);
  }

  private async resolve(rawPath: string, opts: SyncOptions = {}): Promise<Resolved> {
    const path = normalizePath(rawPath);
    const root = this.d.store.get(ROOT_ID)!;
    const chain = [root];
    const paths = ['/'];
    let cur = root;
    let curPath = '/';
    const names = pathComponents(path);
    for (let i = 0; i < names.length; i++) {
      if (cur.folder !== 1) throw new StrataError('NOT_FOUND', `Path ${path} does not exist: ${curPath} is a file`);
      curPath = joinPath(curPath, names[i]!);
      const last = i === names.length - 1;
      let child = this.d.store.child(cur.id, names[i]!);
      if (child && last) child = await this.sync.syncInode(child, curPath, this.interval(opts));
      else if (!child) child = await this.sync.loadChild(cur, curPath);
      if (!child) throw new StrataError('NOT_FOUND', `Path ${path} does not exist`);
      chain.push(child);
      paths.push(curPath);
      cur = child;
    }
    return { chain, paths, inode: cur, path };
  }

  private async tryResolve(path: string): Promise<Resolved | undefined> {
    try {
      return await this.resolve(path);
    } catch (err) {
      if (StrataError.isCode(err, 'NOT_FOUND')) return undefined;
      throw err;
    }
  }

  private info(inode: InodeRow, path: string, blocks = false): FileInfo {
    return toFileInfo(inode, path, this.d, { blocks });
  }

  private writableMount(path: string): void {
    const { mount } = this.d.mounts.resolve(path);
    if (mount.readOnly) throw new StrataError('READ_ONLY', `Cannot modify ${path}: mount ${mount.path} (${mount.ufsUri}) is read-only`);
  }

  // ---- reads ----

  async getStatus(path: string, caller: Caller, opts: SyncOptions & { blocks?: boolean } = {}): Promise<FileInfo> {
    const r = await this.resolve(path, opts);
    this.d.permissions.check(r.chain, r.paths, caller, null);
    return this.info(r.inode, r.path, opts.blocks);
  }

  getStatusById(fileId: number): FileInfo {
    const inode = this.d.store.get(fileId);
    if (!inode) throw new StrataError('NOT_FOUND', `File id ${fileId} does not exist`);
    return this.info(inode, this.pathOf(inode), true);
  }

  pathOf(inode: InodeRow): string {
    const names: string[] = [];
    let cur: InodeRow | undefined = inode;
    while (cur && cur.id !== ROOT_ID) {
      names.unshift(cur.name);
      cur = this.d.store.get(cur.parent);
    }
    return '/' + names.join('/');
  }

  async listStatus(path: string, caller: Caller, opts: SyncOptions & { recursive?: boolean; blocks?: boolean } = {}): Promise<FileInfo[]> {
    const r = await this.resolve(path, opts);
    this.d.permissions.check(r.chain, r.paths, caller, r.inode.folder === 1 ? 'r' : null);
    if (r.inode.folder !== 1) return [this.info(r.inode, r.path, opts.blocks)];
    const out: FileInfo[] = [];
    const walk = async (dir: InodeRow, dirPath: string): Promise<void> => {
      await this.sync.syncChildren(dir, dirPath, this.interval(opts));
      for (const child of this.d.store.children(dir.id)) {
        const childPath = joinPath(dirPath, child.name);
        const at = out.length;
        out.push(this.info(child, childPath, opts.blocks));
        if (opts.recursive && child.folder === 1) {
          await walk(child, childPath);
          // Its children count is known only now that they are loaded.
          out[at] = this.info(this.d.store.get(child.id) ?? child, childPath, opts.blocks);
        }
      }
    };
    await walk(r.inode, r.path);
    return out;
  }

  // ---- creates ----

  private newRow(parent: number, name: string, caller: Caller, folder: boolean, mode?: number): Omit<InodeRow, 'id'> {
    const now = Date.now();
    const base = folder ? 0o777 : 0o666;
    return {
      parent,
      name,
      folder: folder ? 1 : 0,
      mode: mode ?? base & ~this.d.umask,
      owner: caller.user,
      grp: caller.group,
      length: 0,
      block_size: 0,
      completed: folder ? 1 : 0,
      state: 'NOT_PERSISTED',
      pinned: 0,
      ttl: -1,
      ttl_action: 'FREE',
      created_ms: now,
      mtime_ms: now,
      fingerprint: '',
      synced_ms: now,
      children_loaded: 1,
    };
  }

  /** Resolves the parent of `path`, creating missing folders when `recursive`. */
  private async parentFor(path: string, caller: Caller, opts: { recursive: boolean; persist: boolean }): Promise<Resolved> {
    const parent = parentPath(path);
    const existing = await this.tryResolve(parent);
    if (existing) {
      if (existing.inode.folder !== 1) throw new StrataError('INVALID_ARGUMENT', `Cannot create ${path}: ${parent} is a file`);
      return existing;
    }
    if (!opts.recursive) throw new StrataError('NOT_FOUND', `Cannot create ${path}: parent folder ${parent} does not exist`);
    await this.createDirectory(parent, caller, { recursive: true, allowExists: true, persist: opts.persist });
    return this.resolve(parent);
  }

  private insertChild(parent: Resolved, row: Omit<InodeRow, 'id'>, path: string): InodeRow {
    try {
      return this.d.store.transaction(() => {
        const inode = this.d.store.insert(row);
        this.d.store.update(parent.inode.id, { mtime_ms: row.created_ms });
        return inode;
      });
    } catch (err) {
      if (/UNIQUE/.test(String(err))) throw new StrataError('ALREADY_EXISTS', `${path} already exists`);
      throw err;
    }
  }

  async createDirectory(
    rawPath: string,
    caller: Caller,
    opts: { recursive?: boolean; allowExists?: boolean; persist?: boolean; mode?: number } = {},
  ): Promise<FileInfo> {
    const path = normalizePath(rawPath);
    const existing = await this.tryResolve(path);
    if (existing) {
      if (existing.inode.folder !== 1) throw new StrataError('ALREADY_EXISTS', `Cannot create folder ${path}: a file exists there`);
      if (opts.allowExists) return this.info(existing.inode, path);
      throw new StrataError('ALREADY_EXISTS', `${path} already exists`);
    }
    this.writableMount(path);
    const persist = opts.persist ?? true;
    const parent = await this.parentFor(path, caller, { recursive: opts.recursive ?? false, persist });
    this.d.permissions.check(parent.chain, parent.paths, caller, 'w');
    const row = this.newRow(parent.inode.id, baseName(path), caller, true, opts.mode);
    if (persist && parent.inode.state === 'PERSISTED') {
      const { mount, ufsPath } = this.d.mounts.resolve(path);
      await mount.ufs.mkdirs(ufsPath);
      row.state = 'PERSISTED';
    }
    try {
      return this.info(this.insertChild(parent, row, path), path);
    } catch (err) {
      if (opts.allowExists && StrataError.isCode(err, 'ALREADY_EXISTS')) return this.getStatus(path, caller);
      throw err;
    }
  }

  async createFile(
    rawPath: string,
    caller: Caller,
    opts: { recursive?: boolean; blockSize?: number; mode?: number; writeType: WriteType; overwrite?: boolean },
  ): Promise<FileInfo> {
    const path = normalizePath(rawPath);
    if (path === '/') throw new StrataError('INVALID_ARGUMENT', 'Cannot create a file at /');
    this.writableMount(path);
    const existing = await this.tryResolve(path);
    if (existing) {
      if (existing.inode.folder === 1) throw new StrataError('ALREADY_EXISTS', `Cannot create file ${path}: a folder exists there`);
      if (!opts.overwrite) throw new StrataError('ALREADY_EXISTS', `${path} already exists`);
      await this.delete(path, caller, { recursive: false });
    }
    const persist = opts.writeType !== 'MUST_CACHE';
    const parent = await this.parentFor(path, caller, { recursive: opts.recursive ?? false, persist });
    this.d.permissions.check(parent.chain, parent.paths, caller, 'w');
    const blockSize = opts.blockSize ?? this.d.defaultBlockSize;
    if (!(blockSize > 0) || blockSize > 2 ** 40) throw new StrataError('INVALID_ARGUMENT', `Block size ${blockSize} is out of range`);
    const row = { ...this.newRow(parent.inode.id, baseName(path), caller, false, opts.mode), block_size: blockSize };
    return this.info(this.insertChild(parent, row, path), path);
  }

  /** Called when a writer closed its stream: the file's length is final and its blocks are in. */
  completeFile(fileId: number, opts: { length: number; writeType: WriteType; fingerprint?: string; ufsMtimeMs?: number }): FileInfo {
    const inode = this.d.store.get(fileId);
    if (!inode) throw new StrataError('NOT_FOUND', `File id ${fileId} no longer exists (deleted while being written?)`);
    if (inode.completed === 1) throw new StrataError('FAILED_PRECONDITION', `${this.pathOf(inode)} is already complete`);
    const persisted = opts.writeType === 'CACHE_THROUGH' || opts.writeType === 'THROUGH';
    const state = persisted ? 'PERSISTED' : opts.writeType === 'ASYNC_THROUGH' ? 'TO_BE_PERSISTED' : 'NOT_PERSISTED';
    this.d.store.transaction(() => {
      this.d.store.update(fileId, {
        length: opts.length,
        completed: 1,
        state,
        fingerprint: opts.fingerprint ?? '',
        mtime_ms: opts.ufsMtimeMs ?? Date.now(),
      });
      if (persisted) this.markAncestorsPersisted(inode);
    });
    return this.getStatusById(fileId);
  }

  markPersisted(fileId: number, fingerprint: string, mtimeMs: number): void {
    const inode = this.d.store.get(fileId);
    if (!inode) return;
    this.d.store.transaction(() => {
      this.d.store.update(fileId, { state: 'PERSISTED', fingerprint, mtime_ms: mtimeMs, synced_ms: Date.now() });
      this.markAncestorsPersisted(inode);
    });
  }

  markLost(fileId: number): void {
    this.d.store.update(fileId, { state: 'LOST' });
  }

  private markAncestorsPersisted(inode: InodeRow): void {
    let cur = this.d.store.get(inode.parent);
    while (cur && cur.state !== 'PERSISTED') {
      this.d.store.update(cur.id, { state: 'PERSISTED' });
      cur = this.d.store.get(cur.parent);
    }
  }

  // ---- deletes and renames ----

  private removeSubtreeRows(inode: InodeRow): InodeRow[] {
    const rows = this.d.store.subtree(inode.id);
    this.d.store.transaction(() => {
      for (const row of rows.slice().reverse()) this.d.store.remove(row.id);
    });
    return rows.filter((r) => r.folder === 0);
  }

  /** Drops the cached blocks of files (master view at once; workers told now, or at their next heartbeat if they cannot be reached). */
  dropFileBlocks(files: InodeRow[]): Promise<void> {
    const ids: number[] = [];
    for (const f of files) {
      if (f.completed === 1) for (let i = 0; i < blockCount(f); i++) ids.push(blockIdOf(f.id, i));
      else ids.push(...this.d.workers.blocksOfFile(f.id));
    }
    if (ids.length === 0) return Promise.resolve();
    const byWorker = this.d.workers.removeBlocks(ids);
    return this.d.removeBlocksOnWorkers(byWorker).catch((err) => {
      this.d.logger.warn({ err }, 'could not reach a worker to drop blocks; its next heartbeat will');
    });
  }

  async delete(rawPath: string, caller: Caller, opts: { recursive: boolean; alluxioOnly?: boolean }): Promise<void> {
    const r = await this.resolve(rawPath);
    if (r.path === '/') throw new StrataError('INVALID_ARGUMENT', 'Cannot delete the root folder');
    if (this.d.mounts.isMountPoint(r.path)) throw new StrataError('FAILED_PRECONDITION', `${r.path} is a mount point: unmount it instead`);
    const nested = this.d.mounts.mountsUnder(r.path);
    if (nested.length > 0) throw new StrataError('FAILED_PRECONDITION', `Cannot delete ${r.path}: mount point ${nested[0]!.path} lies below it; unmount it first`);
    this.d.permissions.check(r.chain.slice(0, -1), r.paths.slice(0, -1), caller, 'w');
    if (r.inode.folder === 1) {
      await this.sync.syncChildren(r.inode, r.path, this.d.syncIntervalMs);
      if (!opts.recursive && this.d.store.childCount(r.inode.id) > 0) {
        throw new StrataError('DIRECTORY_NOT_EMPTY', `Cannot delete ${r.path}: folder is not empty (use -R to delete it and everything in it)`);
      }
    }
    if (!opts.alluxioOnly && r.inode.state === 'PERSISTED') {
      this.writableMount(r.path);
      const { mount, ufsPath } = this.d.mounts.resolve(r.path);
      await mount.ufs.delete(ufsPath, { recursive: opts.recursive });
    }
    const files = this.removeSubtreeRows(r.inode);
    this.d.store.update(r.inode.parent, { mtime_ms: Date.now() });
    // Still in the UFS: a prefetch queued before would cache a file Strata no longer has.
    if (opts.alluxioOnly) await this.d.forgetPrefetches(files.map((f) => f.id));
    await this.dropFileBlocks(files);
  }

  async rename(rawSrc: string, rawDst: string, caller: Caller): Promise<FileInfo> {
    const src = await this.resolve(rawSrc);
    let dstPath = normalizePath(rawDst);
    if (src.path === '/') throw new StrataError('INVALID_ARGUMENT', 'Cannot move the root folder');
    const dstExisting = await this.tryResolve(dstPath);
    if (dstExisting?.inode.folder === 1) {
      dstPath = joinPath(dstPath, src.inode.name);
      if (await this.tryResolve(dstPath)) throw new StrataError('ALREADY_EXISTS', `Cannot move ${src.path} to ${dstPath}: it already exists`);
    } else if (dstExisting) {
      throw new StrataError('ALREADY_EXISTS', `Cannot move ${src.path} to ${dstPath}: a file exists there`);
    }
    if (isUnder(dstPath, src.path)) throw new StrataError('INVALID_ARGUMENT', `Cannot move ${src.path} into itself (${dstPath})`);
    if (this.d.mounts.isMountPoint(src.path) || this.d.mounts.mountsUnder(src.path).length > 0) {
      throw new StrataError('FAILED_PRECONDITION', `Cannot move ${src.path}: it is or holds a mount point`);
    }
    const from = this.d.mounts.resolve(src.path);
    const to = this.d.mounts.resolve(dstPath);
    if (from.mount.id !== to.mount.id) {
      throw new StrataError('INVALID_ARGUMENT', `Cannot move ${src.path} to ${dstPath}: they are on different mounts (${from.mount.path} and ${to.mount.path})`);
    }
    this.writableMount(src.path);
    const dstParent = await this.resolve(parentPath(dstPath));
    if (dstParent.inode.folder !== 1) throw new StrataError('INVALID_ARGUMENT', `Cannot move to ${dstPath}: ${dstParent.path} is a file`);
    this.d.permissions.check(src.chain.slice(0, -1), src.paths.slice(0, -1), caller, 'w');
    this.d.permissions.check(dstParent.chain, dstParent.paths, caller, 'w');
    if (src.inode.state === 'PERSISTED') {
      if (dstParent.inode.state !== 'PERSISTED') await to.mount.ufs.mkdirs(this.d.mounts.resolve(dstParent.path).ufsPath);
      await from.mount.ufs.rename(from.ufsPath, to.ufsPath);
    }
    const now = Date.now();
    this.d.store.transaction(() => {
      this.d.store.update(src.inode.id, { parent: dstParent.inode.id, name: baseName(dstPath) });
      this.d.store.update(src.inode.parent, { mtime_ms: now });
      this.d.store.update(dstParent.inode.id, { mtime_ms: now });
      if (src.inode.state === 'PERSISTED') this.markAncestorsPersisted(this.d.store.get(src.inode.id)!);
    });
    return this.info(this.d.store.get(src.inode.id)!, dstPath);
  }

  // ---- mounts ----

  async mount(
    rawPath: string,
    ufsUri: string,
    caller: Caller,
    opts: { readOnly?: boolean; shared?: boolean; options?: Record<string, string> },
  ): Promise<void> {
    const path = normalizePath(rawPath);
    if (path === '/') throw new StrataError('INVALID_ARGUMENT', 'The root is mounted by strata.master.mount.table.root.ufs, not by fs mount');
    this.d.permissions.checkSuperUser(caller, `mount ${ufsUri} at ${path}`);
    for (const m of this.d.mounts.list()) {
      if (m.ufsUri.replace(/\/+$/, '') === ufsUri.replace(/\/+$/, '')) throw new StrataError('ALREADY_EXISTS', `${ufsUri} is already mounted at ${m.path}`);
    }
    const existing = await this.tryResolve(path);
    if (existing) {
      if (existing.inode.folder !== 1) throw new StrataError('ALREADY_EXISTS', `Cannot mount at ${path}: a file exists there`);
      await this.sync.syncChildren(existing.inode, path, this.d.syncIntervalMs);
      if (this.d.store.childCount(existing.inode.id) > 0) throw new StrataError('ALREADY_EXISTS', `Cannot mount at ${path}: the folder is not empty`);
    }
    const parent = await this.tryResolve(parentPath(path));
    if (!parent) throw new StrataError('NOT_FOUND', `Cannot mount at ${path}: parent folder ${parentPath(path)} does not exist`);
    const ufs = createUfs(ufsUri, opts.options ?? {});
    const status = await (hasMountCheck(ufs) ? ufs.checkMount(ufsUri) : ufs.getStatus(ufsUri))
      .catch((err: unknown) => {
        throw err instanceof StrataError ? new StrataError(err.code, `Cannot mount ${ufsUri} at ${path}: ${err.message}`) : err;
      })
      .finally(() => ufs.close?.());
    if (!status) throw new StrataError('NOT_FOUND', `Cannot mount ${ufsUri} at ${path}: the UFS folder does not exist`);
    if (!status.folder) throw new StrataError('INVALID_ARGUMENT', `Cannot mount ${ufsUri} at ${path}: it is a file, not a folder`);
    this.d.store.transaction(() => {
      if (existing) this.d.store.remove(existing.inode.id);
      const now = Date.now();
      this.d.store.insert({
        ...this.newRow(parent.inode.id, baseName(path), caller, true),
        state: 'PERSISTED',
        mode: status.mode || 0o755,
        owner: status.owner || caller.user,
        grp: status.group || caller.group,
        mtime_ms: status.lastModifiedMs || now,
        children_loaded: 0,
      });
      this.d.mounts.add({
        path,
        ufs_uri: ufsUri,
        options: JSON.stringify(opts.options ?? {}),
        readonly: opts.readOnly ? 1 : 0,
        shared: opts.shared ? 1 : 0,
      });
    });
    this.d.logger.info({ path, ufsUri, readOnly: !!opts.readOnly }, 'mounted');
  }

  async unmount(rawPath: string, caller: Caller): Promise<void> {
    const path = normalizePath(rawPath);
    if (path === '/') throw new StrataError('INVALID_ARGUMENT', 'Cannot unmount the root');
    if (!this.d.mounts.isMountPoint(path)) throw new StrataError('NOT_FOUND', `${path} is not a mount point`);
    this.d.permissions.checkSuperUser(caller, `unmount ${path}`);
    const nested = this.d.mounts.mountsUnder(path);
    if (nested.length > 0) throw new StrataError('FAILED_PRECONDITION', `Cannot unmount ${path}: ${nested[0]!.path} is mounted below it`);
    const r = await this.resolve(path);
    const files = this.removeSubtreeRows(r.inode);
    this.d.mounts.remove(path);
    await this.dropFileBlocks(files);
  }

  // ---- cache and attributes ----

  async free(rawPath: string, caller: Caller, opts: { forced?: boolean }): Promise<number> {
    const r = await this.resolve(rawPath);
    this.d.permissions.check(r.chain, r.paths, caller, 'r');
    const files = this.d.store.subtree(r.inode.id).filter((i) => i.folder === 0);
    for (const f of files) {
      if (f.pinned === 1 && !opts.forced) throw new StrataError('FAILED_PRECONDITION', `Cannot free ${this.pathOf(f)}: it is pinned (use -f to free and unpin it)`);
      if (f.state !== 'PERSISTED' && f.completed === 1) {
        throw new StrataError('FAILED_PRECONDITION', `Cannot free ${this.pathOf(f)}: it is ${f.state} and its cached copy is the only one`);
      }
    }
    if (opts.forced && files.some((f) => f.pinned === 1)) {
      this.d.store.transaction(() => files.forEach((f) => this.d.store.update(f.id, { pinned: 0 })));
      await this.d.pinsChanged(this.pinnedFileIds());
    }
    await this.d.forgetPrefetches(files.map((f) => f.id));
    await this.dropFileBlocks(files);
    return files.length;
  }

  async setAttribute(rawPath: string, caller: Caller, opts: SetAttributeOptions): Promise<void> {
    const r = await this.resolve(rawPath);
    this.d.permissions.check(r.chain, r.paths, caller, null);
    if (opts.owner !== undefined) this.d.permissions.checkSuperUser(caller, `change the owner of ${r.path}`);
    if (opts.group !== undefined && !this.d.permissions.isSuperUser(caller)) {
      this.d.permissions.checkOwner(r.inode, r.path, caller);
      if (!this.d.permissions.inGroup(caller, opts.group)) {
        throw new StrataError('PERMISSION_DENIED', `Permission denied: user=${caller.user} is not in group ${opts.group}`);
      }
    }
    if (opts.mode !== undefined) this.d.permissions.checkOwner(r.inode, r.path, caller);
    if (opts.pinned !== undefined || opts.ttl !== undefined) this.d.permissions.check(r.chain, r.paths, caller, 'w');
    if (opts.mode !== undefined && (!Number.isInteger(opts.mode) || opts.mode < 0 || opts.mode > 0o7777)) {
      throw new StrataError('INVALID_ARGUMENT', `Mode ${opts.mode} is not between 0 and 07777`);
    }
    const targets = opts.recursive || opts.pinned !== undefined ? this.d.store.subtree(r.inode.id) : [r.inode];
    this.d.store.transaction(() => {
      for (const t of targets) {
        const patch: Partial<InodeRow> = {};
        if (opts.mode !== undefined) patch.mode = opts.mode;
        if (opts.owner !== undefined) patch.owner = opts.owner;
        if (opts.group !== undefined) patch.grp = opts.group;
        if (opts.pinned !== undefined && (t.folder === 0 || t.id === r.inode.id)) patch.pinned = opts.pinned ? 1 : 0;
        if (t.id === r.inode.id) {
          if (opts.ttl !== undefined) patch.ttl = opts.ttl;
          if (opts.ttlAction !== undefined) patch.ttl_action = opts.ttlAction;
        }
        this.d.store.update(t.id, patch);
      }
    });
    if (opts.pinned !== undefined) await this.d.pinsChanged(this.pinnedFileIds());
  }

  /**
   * File ids whose blocks workers must never evict: pinned files, and files whose cached copy
   * is their only copy (NOT_PERSISTED, TO_BE_PERSISTED). A full cache then refuses new blocks
   * with "no space" instead of silently losing data.
   */
  pinnedFileIds(): number[] {
    return this.d.store.keptFileIds();
  }

  /** Creates the root inode on first start. */
  static initRoot(store: MetaStore, owner: string, group: string): void {
    if (store.get(ROOT_ID)) return;
    const now = Date.now();
    store.insert({
      id: ROOT_ID,
      parent: 0,
      name: '',
      folder: 1,
      mode: 0o755,
      owner,
      grp: group,
      length: 0,
      block_size: 0,
      completed: 1,
      state: 'PERSISTED',
      pinned: 0,
      ttl: -1,
      ttl_action: 'FREE',
      created_ms: now,
      mtime_ms: now,
      fingerprint: '',
      synced_ms: 0,
      children_loaded: 0,
    });
  }
}
