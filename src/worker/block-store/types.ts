/** The public types of the block store: its configuration and what it hands out. */
import type { Logger } from '../../common/logging.js';

/** One storage tier: an alias (MEM, SSD, HDD) and the folders it may fill, each with a quota. */
export interface TierConfig {
  alias: string;
  dirs: { path: string; quotaBytes: number }[];
}

export interface BlockStoreOptions {
  /** Ordered fastest first: index 0 is the top tier. */
  tiers: TierConfig[];
  /** The SQLite index of committed blocks. */
  indexPath: string;
  logger?: Logger;
  /** How often expired leases are swept (default 1000 ms). */
  leaseSweepIntervalMs?: number;
  /** How often last-access times are written to the index (default 10000 ms). */
  accessFlushIntervalMs?: number;
}

/** A committed, cached block and where its bytes are. */
export interface BlockMeta {
  blockId: number;
  fileId: number;
  index: number;
  blockSize: number;
  length: number;
  /** Byte offset of the block in its cache file: index * blockSize. */
  offset: number;
  tier: string;
  dir: string;
  cacheFile: string;
  lastAccessMs: number;
}

export interface CreateBlockRequest {
  fileId: number;
  index: number;
  blockSize: number;
  length: number;
  /**
   * Put the block in this tier, evicting there if it is full. Without it the block goes to the
   * highest tier with free room, and only when none has room is the top tier evicted.
   */
  preferTier?: string;
  /** Only where there is free room: evicts nothing (a prefetch). */
  noEviction?: boolean;
}

/** A block being written. Its space is reserved; nothing is visible until commit(). */
export interface BlockWriter {
  readonly blockId: number;
  readonly cacheFile: string;
  /** Where the block starts in cacheFile: index * blockSize. */
  readonly offset: number;
  readonly tier: string;
  /** Bytes written so far. */
  readonly written: number;
  /** Appends a chunk, or chunks in order; fails if the block would grow past its length. */
  write(chunk: Uint8Array | readonly Uint8Array[]): Promise<void>;
  /**
   * Makes the block durable (fdatasync) and visible; needs written === length, or with
   * truncate (the last block of a stream of unknown size) 0 < written <= length.
   */
  commit(opts?: { truncate?: boolean }): Promise<BlockMeta>;
  /** Drops what was written and releases the reservation. */
  abort(): Promise<void>;
}

export interface BlockStoreStats {
  /** Blocks pushed out of a tier to make room, whether demoted or dropped. */
  evictions: number;
  /** Of those evictions, the blocks moved to a lower tier rather than dropped. */
  demotions: number;
  /** Blocks moved up to the top tier by promote(). */
  promotions: number;
  /** Bytes of the evicted blocks. */
  evictedBytes: number;
}

/** Blocks committed, moved or removed since the last drain, for the master heartbeat. */
export interface BlockChanges {
  added: Record<string, number[]>;
  removed: number[];
}

export interface Lease {
  leaseId: string;
  blocks: BlockMeta[];
}
