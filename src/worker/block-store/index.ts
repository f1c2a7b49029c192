/** The worker's tiered block cache: see block-store.ts for the design. */
export { BlockStore } from './block-store.js';
export type {
  BlockChanges,
  BlockMeta,
  BlockStoreOptions,
  BlockStoreStats,
  BlockWriter,
  CreateBlockRequest,
  Lease,
  TierConfig,
} from './types.js';
