/**
 * Takes one whole-file write stream and lays it into blocks of the local cache (all on this
 * worker, so the file stays one cache file) and/or into the UFS, per write type:
 * MUST_CACHE and ASYNC_THROUGH cache only, CACHE_THROUGH both, THROUGH the UFS only.
 * On any failure nothing is left behind: open blocks are aborted, committed ones removed,
 * the UFS write dropped.
 */
import type { Readable } from 'node:stream';
import { StrataError, toStrataError } from '../common/errors.js';
import type { WriteType } from '../common/types.js';
import type { UfsWriteStream } from '../ufs/under-file-system.js';
import type { BlockStore, BlockWriter } from './block-store/index.js';
import type { UfsAccess } from './ufs-access.js';

const PROTECT_UNPERSISTED_MS = 10_000;

export interface FileWriteResult {
  length: number;
  blocks: number;
  /** The blocks cached, for the worker to report to the master. */
  committed: number[];
  fingerprint?: string;
  ufsMtimeMs?: number;
}

export class FileWriter {
  private block?: BlockWriter;
  private index = 0;
  private length = 0;
  private readonly committed: number[] = [];
  private ufsOut?: UfsWriteStream;
  private readonly leases: string[] = [];

  constructor(
    private readonly p: { store: BlockStore; ufs: UfsAccess; fileId: number; blockSize: number; writeType: WriteType; mountId: number; ufsPath: string },
  ) {
    if (!(p.blockSize > 0)) throw new StrataError('INVALID_ARGUMENT', 'Block size must be positive');
  }

  private get caching(): boolean {
    return this.p.writeType !== 'THROUGH';
  }

  private get through(): boolean {
    return this.p.writeType === 'CACHE_THROUGH' || this.p.writeType === 'THROUGH';
  }

  async run(body: Readable): Promise<FileWriteResult> {
    try {
      if (this.through) {
        if (!this.p.ufsPath) throw new StrataError('INVALID_ARGUMENT', `Write type ${this.p.writeType} needs a UFS path`);
        this.ufsOut = await (await this.p.ufs.get(this.p.mountId)).create(this.p.ufsPath);
      }
      // A refused write must leave the request alive: the server answers with the error and
      // drains the rest, where destroying it would reset the connection under the answer.
      for await (const chunk of body.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
        if (this.ufsOut) await this.ufsOut.write(chunk);
        if (this.caching) await this.cache(chunk);
        this.length += chunk.length;
      }
      if (this.block) await this.commitBlock();
      const status = this.ufsOut ? await this.ufsOut.close() : undefined;
      return { length: this.length, blocks: this.committed.length, committed: this.committed, fingerprint: status?.fingerprint, ufsMtimeMs: status?.lastModifiedMs };
    } catch (err) {
      await this.block?.abort().catch(() => undefined);
      for (const id of this.leases) this.p.store.releaseLease(id);
      for (const id of this.committed) await this.p.store.remove(id).catch(() => undefined);
      await this.ufsOut?.abort().catch(() => undefined);
      throw toStrataError(err, `Writing file ${this.p.fileId}`);
    }
  }

  private async cache(chunk: Buffer): Promise<void> {
    let at = 0;
    while (at < chunk.length) {
      this.block ??= await this.p.store.createBlock({ fileId: this.p.fileId, index: this.index, blockSize: this.p.blockSize, length: this.p.blockSize });
      const n = Math.min(chunk.length - at, this.p.blockSize - this.block.written);
      await this.block.write(at === 0 && n === chunk.length ? chunk : chunk.subarray(at, at + n));
      at += n;
      if (this.block.written === this.p.blockSize) await this.commitBlock();
    }
  }

  private async commitBlock(): Promise<void> {
    const meta = await this.block!.commit({ truncate: true });
    if (!this.through) {
      // The only copy: keep it from eviction (by this very write, too) until the master's
      // protected-file list, sent with heartbeats, covers the completed file.
      this.leases.push(this.p.store.acquireLease([meta.blockId], PROTECT_UNPERSISTED_MS).leaseId);
    }
    this.committed.push(meta.blockId);
    this.block = undefined;
    this.index++;
  }
}
