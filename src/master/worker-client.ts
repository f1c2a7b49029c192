/** The master's calls to workers: drop blocks, forget prefetches, persist a file. */
import { WorkerRpcPool } from '../common/rpc/pool.js';
import type { PersistRequest, WorkerAddress } from '../common/types.js';

export interface PersistResult {
  fingerprint: string;
  lastModifiedMs: number;
}

export class WorkerClients extends WorkerRpcPool {
  removeBlocks(address: WorkerAddress, blockIds: number[]): Promise<unknown> {
    return this.of(address).call('POST', '/api/v1/blocks/remove', { body: { blockIds } });
  }

  forgetPrefetches(address: WorkerAddress, fileIds: number[]): Promise<unknown> {
    return this.of(address).call('POST', '/api/v1/prefetch/forget', { body: { fileIds } });
  }

  setPinned(address: WorkerAddress, fileIds: number[]): Promise<unknown> {
    return this.of(address).call('POST', '/api/v1/pinned', { body: { fileIds } });
  }

  persist(address: WorkerAddress, req: PersistRequest): Promise<PersistResult> {
    return this.of(address).call('POST', '/api/v1/persist', { body: req });
  }
}
