/**
 * Persists a file to its UFS for the master (ASYNC_THROUGH, fs persist): reads its blocks from
 * this worker's cache, or from the worker that holds them, and writes the UFS file whole.
 */
import { StrataError } from '../common/errors.js';
import { RpcClient, workerUrl, type RpcIdentity } from '../common/rpc/client.js';
import { blockIdOf, type PersistRequest } from '../common/types.js';
import type { BlockStore } from './block-store/index.js';
import type { MasterLink } from './master-link.js';
import type { UfsAccess } from './ufs-access.js';

const CHUNK = 4 << 20;

export class Persister {
  constructor(
    private readonly d: { store: BlockStore; ufs: UfsAccess; master: MasterLink; identity: RpcIdentity; timeoutMs: number; leaseTimeoutMs: number },
  ) {}

  async persist(req: PersistRequest): Promise<{ fingerprint: string; lastModifiedMs: number }> {
    const out = await (await this.d.ufs.get(req.mountId)).create(req.ufsPath);
    try {
      const blocks = req.blockSize > 0 ? Math.ceil(req.length / req.blockSize) : 0;
      for (let index = 0; index < blocks; index++) {
        const blockId = blockIdOf(req.fileId, index);
        const length = Math.min(req.blockSize, req.length - index * req.blockSize);
        if (this.d.store.has(blockId)) await this.copyLocal(blockId, length, (c) => out.write(c));
        else await this.copyRemote(req.fileId, blockId, length, (c) => out.write(c));
      }
      const status = await out.close();
      return { fingerprint: status.fingerprint, lastModifiedMs: status.lastModifiedMs };
    } catch (err) {
      await out.abort();
      throw err;
    }
  }

  private async copyLocal(blockId: number, length: number, sink: (c: Buffer) => Promise<void>): Promise<void> {
    const lease = this.d.store.acquireLease([blockId], this.d.leaseTimeoutMs);
    try {
      for (let at = 0; at < length; at += CHUNK) await sink(await this.d.store.read(blockId, at, Math.min(CHUNK, length - at)));
    } finally {
      this.d.store.releaseLease(lease.leaseId);
    }
  }

  private async copyRemote(fileId: number, blockId: number, length: number, sink: (c: Buffer) => Promise<void>): Promise<void> {
    const info = await this.d.master.file(fileId);
    const loc = info.blocks?.find((b) => b.blockId === blockId)?.locations[0];
    if (!loc) throw new StrataError('DATA_LOSS', `Block ${blockId} of ${info.path} is cached nowhere`);
    const peer = new RpcClient('worker', workerUrl(loc.address), this.d.identity, this.d.timeoutMs);
    const res = await peer.download('/api/v1/read', { blockId, offset: 0, length, readType: 'NO_CACHE' });
    for await (const chunk of res.body as AsyncIterable<Buffer>) await sink(chunk);
  }
}
