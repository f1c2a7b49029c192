/** The master's calls to workers: drop blocks, persist a file. */
import { RpcClient, type RpcIdentity } from '../common/rpc/client.js';
import type { WorkerAddress } from '../common/types.js';

export interface PersistRequest {
  fileId: number;
  mountId: number;
  ufsPath: string;
  length: number;
  blockSize: number;
}

export interface PersistResult {
  fingerprint: string;
  lastModifiedMs: number;
}

export class WorkerClients {
  private readonly clients = new Map<string, RpcClient>();

  constructor(private readonly identity: RpcIdentity, private readonly timeoutMs: number) {}

  of(address: WorkerAddress): RpcClient {
    const url = `http://${address.host}:${address.rpcPort}`;
    let c = this.clients.get(url);
    if (!c) this.clients.set(url, (c = new RpcClient('worker', url, this.identity, this.timeoutMs)));
    return c;
  }

  removeBlocks(address: WorkerAddress, blockIds: number[]): Promise<unknown> {
    return this.of(address).call('POST', '/api/v1/blocks/remove', { body: { blockIds } });
  }

  setPinned(address: WorkerAddress, fileIds: number[]): Promise<unknown> {
    return this.of(address).call('POST', '/api/v1/pinned', { body: { fileIds } });
  }

  persist(address: WorkerAddress, req: PersistRequest): Promise<PersistResult> {
    return this.of(address).call('POST', '/api/v1/persist', { body: req });
  }
}
