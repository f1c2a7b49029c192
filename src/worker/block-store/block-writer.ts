/**
 * A block being written: bytes go straight to their range of the cache file, the space is
 * reserved, and nothing is visible until commit() has synced the bytes and the store has
 * written the block's index row.
 */
import { StrataError } from '../../common/errors.js';
import { writeAllAt, type WritableCacheFile } from './cache-file.js';
import type { TierDir } from './tiers.js';
import type { BlockMeta, BlockWriter } from './types.js';

export interface PendingBlock {
  blockId: number;
  fileId: number;
  index: number;
  blockSize: number;
  length: number;
  dir: TierDir;
}

/** What the store does when a writer finishes. */
export interface WriterOwner {
  commitWrite(block: PendingBlock): BlockMeta;
  abortWrite(block: PendingBlock): Promise<void>;
}

export class CacheBlockWriter implements BlockWriter {
  readonly cacheFile: string;
  readonly offset: number;
  readonly tier: string;
  private writtenBytes = 0;
  private busy = false;
  private state: 'open' | 'committed' | 'aborted' = 'open';

  constructor(
    private readonly block: PendingBlock,
    private readonly fh: WritableCacheFile,
    private readonly owner: WriterOwner,
  ) {
    this.cacheFile = block.dir.cacheFile(block.fileId);
    this.offset = block.index * block.blockSize;
    this.tier = block.dir.tier.alias;
  }

  get blockId(): number {
    return this.block.blockId;
  }

  get written(): number {
    return this.writtenBytes;
  }

  async write(chunk: Uint8Array | readonly Uint8Array[]): Promise<void> {
    this.enter('write');
    try {
      const chunks = chunk instanceof Uint8Array ? [chunk] : chunk;
      const bytes = chunks.reduce((n, c) => n + c.byteLength, 0);
      if (this.writtenBytes + bytes > this.block.length) {
        throw new StrataError(
          'INVALID_ARGUMENT',
          `block ${this.block.blockId} is ${this.block.length} bytes; ${this.writtenBytes + bytes} written`,
        );
      }
      await writeAllAt(this.fh, chunks, this.offset + this.writtenBytes);
      this.writtenBytes += bytes;
    } finally {
      this.busy = false;
    }
  }

  async commit(opts: { truncate?: boolean } = {}): Promise<BlockMeta> {
    this.enter('commit');
    try {
      if (opts.truncate && this.writtenBytes > 0 && this.writtenBytes < this.block.length) {
        // The last block of a streamed write: its length was unknown when it was reserved.
        this.block.dir.shrinkReservation(this.block.length - this.writtenBytes);
        this.block.length = this.writtenBytes;
      }
      if (this.writtenBytes !== this.block.length) {
        throw new StrataError(
          'FAILED_PRECONDITION',
          `block ${this.block.blockId} has ${this.writtenBytes} of ${this.block.length} bytes written`,
        );
      }
      if (!this.block.dir.memoryBacked) await this.fh.datasync();
      await this.fh.close();
      this.state = 'committed';
    } catch (err) {
      this.busy = false;
      if (this.state === 'open' && !StrataError.isCode(err, 'FAILED_PRECONDITION')) await this.abort();
      throw err;
    }
    this.busy = false;
    try {
      return this.owner.commitWrite(this.block);
    } catch (err) {
      this.state = 'aborted';
      await this.owner.abortWrite(this.block);
      throw err;
    }
  }

  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    await this.fh.close().catch(() => undefined);
    await this.owner.abortWrite(this.block);
  }

  private enter(op: string): void {
    if (this.state !== 'open') throw new StrataError('FAILED_PRECONDITION', `${op}: block ${this.block.blockId} writer is ${this.state}`);
    if (this.busy) throw new StrataError('FAILED_PRECONDITION', `${op}: block ${this.block.blockId} has a write in progress`);
    this.busy = true;
  }
}
