/**
 * The message types that cross process boundaries (master <-> client, master <-> worker,
 * client <-> worker). They live here so that the client never imports master or worker code.
 */

export const READ_TYPES = ['NO_CACHE', 'CACHE', 'CACHE_PROMOTE'] as const;
export type ReadType = (typeof READ_TYPES)[number];

export const WRITE_TYPES = ['MUST_CACHE', 'CACHE_THROUGH', 'THROUGH', 'ASYNC_THROUGH'] as const;
export type WriteType = (typeof WRITE_TYPES)[number];

export const PERSISTENCE_STATES = ['NOT_PERSISTED', 'TO_BE_PERSISTED', 'PERSISTED', 'LOST'] as const;
export type PersistenceState = (typeof PERSISTENCE_STATES)[number];

export const TTL_ACTIONS = ['FREE', 'DELETE'] as const;
export type TtlAction = (typeof TTL_ACTIONS)[number];

export const TIER_ALIASES = ['MEM', 'SSD', 'HDD'] as const;

/** Block ids derive from the file id and the block's index in it, as Alluxio's do. */
export const BLOCK_INDEX_BITS = 24;
export function blockIdOf(fileId: number, index: number): number {
  return fileId * 2 ** BLOCK_INDEX_BITS + index;
}
export function fileIdOfBlock(blockId: number): number {
  return Math.floor(blockId / 2 ** BLOCK_INDEX_BITS);
}
export function indexOfBlock(blockId: number): number {
  return blockId % 2 ** BLOCK_INDEX_BITS;
}

export interface WorkerAddress {
  host: string;
  rpcPort: number;
  webPort: number;
}

export interface BlockLocation {
  workerId: number;
  address: WorkerAddress;
  tier: string;
}

export interface FileBlockInfo {
  blockId: number;
  index: number;
  offset: number;
  length: number;
  locations: BlockLocation[];
}

export interface FileInfo {
  fileId: number;
  path: string;
  name: string;
  folder: boolean;
  length: number;
  blockSize: number;
  completed: boolean;
  mode: number;
  owner: string;
  group: string;
  lastModificationTimeMs: number;
  creationTimeMs: number;
  persistenceState: PersistenceState;
  pinned: boolean;
  ttl: number;
  ttlAction: TtlAction;
  /** Children count for folders. */
  children: number;
  /** Percent of the file's bytes cached on live workers, 0..100. */
  inMemoryPercentage: number;
  inAlluxioPercentage: number;
  mountPoint: boolean;
  mountId: number;
  /** The file's full UFS URI (never carries credentials). */
  ufsPath: string;
  fingerprint: string;
  blocks?: FileBlockInfo[];
}

export interface MountPointInfo {
  path: string;
  ufsUri: string;
  mountId: number;
  readOnly: boolean;
  shared: boolean;
  /** Options with secrets redacted, unless asked for by a worker. */
  options: Record<string, string>;
}

export interface TierUsage {
  alias: string;
  capacityBytes: number;
  usedBytes: number;
}

export interface WorkerInfo {
  id: number;
  address: WorkerAddress;
  state: 'LIVE' | 'LOST';
  lastHeartbeatMs: number;
  startTimeMs: number;
  tiers: TierUsage[];
  blockCount: number;
}

export interface WorkerRegistration {
  address: WorkerAddress;
  tiers: TierUsage[];
  /** Every block the worker holds, by tier alias. */
  blocks: Record<string, number[]>;
}

export interface WorkerHeartbeat {
  workerId: number;
  tiers: TierUsage[];
  addedBlocks: Record<string, number[]>;
  removedBlocks: number[];
}

/** What the master asks of a worker in a heartbeat reply. */
export interface HeartbeatCommand {
  /** REGISTER: the master does not know this worker (it restarted); register again with all blocks. */
  command: 'NOTHING' | 'REGISTER';
  removeBlocks: number[];
  pinnedFileIds: number[];
}

/** What a worker needs to fill a block from the UFS. */
export interface UfsBlockSource {
  mountId: number;
  ufsPath: string;
  fileLength: number;
  blockSize: number;
  fingerprint: string;
}

/** Where a worker reads a file's blocks from in the UFS. */
export function ufsSourceOf(file: FileInfo): UfsBlockSource {
  return { mountId: file.mountId, ufsPath: file.ufsPath, fileLength: file.length, blockSize: file.blockSize, fingerprint: file.fingerprint };
}

export interface SetAttributeOptions {
  pinned?: boolean;
  ttl?: number;
  ttlAction?: TtlAction;
  mode?: number;
  owner?: string;
  group?: string;
  recursive?: boolean;
}

/** The master asks a worker holding a file's blocks to write it to its UFS. */
export interface PersistRequest {
  fileId: number;
  mountId: number;
  ufsPath: string;
  length: number;
  blockSize: number;
}
