/** One RpcClient per worker address, reused (keep-alive connections) by whoever calls workers. */
import type { WorkerAddress } from '../types.js';
import { RpcClient, workerUrl, type InProcessServers, type RpcIdentity } from './client.js';

export class WorkerRpcPool {
  private readonly clients = new Map<string, RpcClient>();

  constructor(
    private readonly identity: RpcIdentity,
    private readonly timeoutMs: number,
    private readonly inProcess?: InProcessServers,
  ) {}

  of(address: WorkerAddress): RpcClient {
    const url = workerUrl(address);
    let c = this.clients.get(url);
    if (!c) this.clients.set(url, (c = new RpcClient(`worker ${address.host}:${address.rpcPort}`, url, this.identity, this.timeoutMs, this.inProcess?.get(url))));
    return c;
  }
}
