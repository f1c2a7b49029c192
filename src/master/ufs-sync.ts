/**
 * Keeps inodes under a mount in step with the UFS: loads metadata lazily on first access and
 * re-syncs it per strata.user.file.metadata.sync.interval (-1 load once, 0 always, N ms).
 * A UFS file whose fingerprint changed gets its new size and time, and its stale cached blocks
 * are dropped; an entry gone from the UFS leaves Strata unless it was never persisted.
 */
import type { UfsStatus } from '../ufs/under-file-system.js';
import type { InodeRow, MetaStore } from './metastore.js';
import type { MountTable } from './mount-table.js';

export interface SyncHooks {
  /** A cached file's content is stale or gone: drop its blocks. */
  dropBlocks(file: InodeRow): void;
  /** Removes an inode and everything below it from Strata only. */
  removeSubtree(inode: InodeRow): void;
}

export function rowFromUfs(parent: number, status: UfsStatus, blockSize: number, now: number): Omit<InodeRow, 'id'> {
  return {
    parent,
    name: status.name,
    folder: status.folder ? 1 : 0,
    mode: status.mode,
    owner: status.owner,
    grp: status.group,
    length: status.length,
    block_size: blockSize,
    completed: 1,
    state: 'PERSISTED',
    pinned: 0,
    ttl: -1,
    ttl_action: 'FREE',
    created_ms: status.lastModifiedMs,
    mtime_ms: status.lastModifiedMs,
    fingerprint: status.fingerprint,
    synced_ms: now,
    children_loaded: 0,
  };
}

export class UfsSync {
  constructor(
    private readonly store: MetaStore,
    private readonly mounts: MountTable,
    private readonly opts: { blockSize: number },
    private readonly hooks: SyncHooks,
  ) {}

  /** intervalMs: -1 never re-sync (load once), 0 always, else re-sync when older than that. */
  isDue(inode: InodeRow, intervalMs: number): boolean {
    if (intervalMs < 0) return false;
    return Date.now() - inode.synced_ms >= intervalMs;
  }

  private insertOrGet(row: Omit<InodeRow, 'id'>): InodeRow {
    try {
      return this.store.insert(row);
    } catch (err) {
      // Another request loaded the same entry while this one waited on the UFS.
      const existing = this.store.child(row.parent, row.name);
      if (existing) return existing;
      throw err;
    }
  }

  /** Looks a missing child up in the UFS; inserts and returns it when it exists there. */
  async loadChild(parent: InodeRow, path: string): Promise<InodeRow | undefined> {
    if (parent.state !== 'PERSISTED') return undefined;
    const { mount, ufsPath } = this.mounts.resolve(path);
    const status = await mount.ufs.getStatus(ufsPath);
    if (!status) return undefined;
    return this.insertOrGet(rowFromUfs(parent.id, { ...status, name: path.slice(path.lastIndexOf('/') + 1) }, this.opts.blockSize, Date.now()));
  }

  /** Re-checks one persisted inode; returns undefined when it is gone. */
  async syncInode(inode: InodeRow, path: string, intervalMs: number): Promise<InodeRow | undefined> {
    if (inode.state !== 'PERSISTED' || !this.isDue(inode, intervalMs) || this.mounts.isMountPoint(path)) return inode;
    const { mount, ufsPath } = this.mounts.resolve(path);
    const status = await mount.ufs.getStatus(ufsPath);
    const current = this.store.get(inode.id);
    if (!current) return undefined;
    if (!status || status.folder !== (current.folder === 1)) {
      this.hooks.removeSubtree(current);
      return undefined;
    }
    return this.applyStatus(current, status);
  }

  private applyStatus(inode: InodeRow, status: UfsStatus): InodeRow {
    const now = Date.now();
    if (inode.folder === 0 && inode.completed === 1 && status.fingerprint !== inode.fingerprint) {
      this.hooks.dropBlocks(inode);
      this.store.update(inode.id, { length: status.length, mtime_ms: status.lastModifiedMs, fingerprint: status.fingerprint, synced_ms: now });
    } else {
      this.store.update(inode.id, { synced_ms: now });
    }
    return this.store.get(inode.id)!;
  }

  /** Loads or re-syncs the children of a folder. */
  async syncChildren(dir: InodeRow, path: string, intervalMs: number): Promise<void> {
    if (dir.state !== 'PERSISTED') return;
    if (dir.children_loaded === 1 && !this.isDue(dir, intervalMs)) return;
    const { mount, ufsPath } = this.mounts.resolve(path);
    const listing = await mount.ufs.listStatus(ufsPath);
    if (!listing) return;
    const now = Date.now();
    const inUfs = new Map(listing.map((s) => [s.name, s]));
    this.store.transaction(() => {
      for (const child of this.store.children(dir.id)) {
        const status = inUfs.get(child.name);
        const childPath = path === '/' ? `/${child.name}` : `${path}/${child.name}`;
        inUfs.delete(child.name);
        if (this.mounts.isMountPoint(childPath) || child.state !== 'PERSISTED') continue;
        if (!status || status.folder !== (child.folder === 1)) this.hooks.removeSubtree(child);
        else this.applyStatus(child, status);
      }
      for (const status of inUfs.values()) this.insertOrGet(rowFromUfs(dir.id, status, this.opts.blockSize, now));
      this.store.update(dir.id, { children_loaded: 1, synced_ms: now });
    });
  }
}
