/** Builds the FileInfo a client sees from an inode, the mount table and block locations. */
import { blockIdOf, type FileBlockInfo, type FileInfo } from '../common/types.js';
import type { InodeRow, MetaStore } from './metastore.js';
import type { MountTable } from './mount-table.js';
import type { WorkerRegistry } from './worker-registry.js';

export function blockCount(inode: Pick<InodeRow, 'length' | 'block_size'>): number {
  return inode.block_size > 0 ? Math.ceil(inode.length / inode.block_size) : 0;
}

export function fileBlocks(inode: InodeRow, workers: WorkerRegistry): FileBlockInfo[] {
  const out: FileBlockInfo[] = [];
  const n = blockCount(inode);
  for (let index = 0; index < n; index++) {
    const blockId = blockIdOf(inode.id, index);
    const offset = index * inode.block_size;
    out.push({ blockId, index, offset, length: Math.min(inode.block_size, inode.length - offset), locations: workers.locationsOf(blockId) });
  }
  return out;
}

export function toFileInfo(
  inode: InodeRow,
  path: string,
  deps: { store: MetaStore; mounts: MountTable; workers: WorkerRegistry },
  opts: { blocks?: boolean } = {},
): FileInfo {
  const { mount, ufsPath } = deps.mounts.resolve(path);
  const folder = inode.folder === 1;
  let cached = 0;
  let inMem = 0;
  let blocks: FileBlockInfo[] | undefined;
  if (!folder && inode.length > 0) {
    blocks = fileBlocks(inode, deps.workers);
    for (const b of blocks) {
      if (b.locations.length > 0) cached += b.length;
      if (b.locations.some((l) => l.tier === 'MEM')) inMem += b.length;
    }
  }
  const pct = (n: number) => (inode.length > 0 ? Math.floor((n * 100) / inode.length) : 100);
  return {
    fileId: inode.id,
    path,
    name: inode.name,
    folder,
    length: inode.length,
    blockSize: inode.block_size,
    completed: inode.completed === 1,
    mode: inode.mode,
    owner: inode.owner,
    group: inode.grp,
    lastModificationTimeMs: inode.mtime_ms,
    creationTimeMs: inode.created_ms,
    persistenceState: inode.state,
    pinned: inode.pinned === 1,
    ttl: inode.ttl,
    ttlAction: inode.ttl_action,
    children: folder ? deps.store.childCount(inode.id) : 0,
    inMemoryPercentage: folder ? 0 : pct(inMem),
    inAlluxioPercentage: folder ? 0 : pct(cached),
    mountPoint: deps.mounts.isMountPoint(path),
    mountId: mount.id,
    ufsPath,
    fingerprint: inode.fingerprint,
    blocks: opts.blocks ? (blocks ?? []) : undefined,
  };
}
