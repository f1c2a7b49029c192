/**
 * Read-through: a block that is not cached is read from the UFS once, written into the cache
 * file as it arrives, and handed to every reader of it from there as soon as the bytes they
 * need are in. Concurrent readers share one fill; a reader that stops early does not stop the
 * fill, which completes in the background. The block becomes visible as cached only when
 * complete (the store's commit), and the master hears of it before the last reader is answered.
 */
import { EventEmitter } from 'node:events';
import { StrataError, toStrataError } from '../common/errors.js';
import type { Logger } from '../common/logging.js';
import { blockIdOf, type UfsBlockSource } from '../common/types.js';
import type { BlockMeta, BlockStore, BlockWriter } from './block-store/index.js';
import type { UfsAccess } from './ufs-access.js';

const FILL_WRITE_BATCH = 512 * 1024;
/** At most this many chunks in one write (the system's limit on one writev is 1024). */
const FILL_WRITE_CHUNKS = 256;

export interface FillTarget {
  blockId: number;
  fileId: number;
  index: number;
  source: UfsBlockSource;
}

export class Fill extends EventEmitter {
  written = 0;
  failed?: StrataError;
  readonly done: Promise<BlockMeta>;

  constructor(
    readonly blockId: number,
    readonly length: number,
    readonly writer: BlockWriter,
    run: (fill: Fill) => Promise<BlockMeta>,
  ) {
    super();
    this.setMaxListeners(0);
    this.done = run(this);
    this.done.catch((err: unknown) => {
      this.failed = toStrataError(err);
      this.emit('progress');
    });
  }

  /** Resolves once `end` bytes of the block are in the cache file. */
  async waitFor(end: number): Promise<void> {
    while (this.written < end) {
      if (this.failed) throw this.failed;
      await new Promise<void>((resolve) => this.once('progress', resolve));
    }
  }
}

export class BlockFiller {
  private readonly fills = new Map<number, Fill>();

  constructor(
    private readonly store: BlockStore,
    private readonly ufs: UfsAccess,
    private readonly onCommitted: (meta: BlockMeta) => Promise<void>,
    private readonly onUfsBytes: (n: number) => void,
    private readonly logger: Logger,
  ) {}

  inFlight(blockId: number): Fill | undefined {
    return this.fills.get(blockId);
  }

  static blockLength(t: FillTarget): number {
    const offset = t.index * t.source.blockSize;
    const length = Math.min(t.source.blockSize, t.source.fileLength - offset);
    if (length <= 0) throw new StrataError('INVALID_ARGUMENT', `Block ${t.index} lies past the end of ${t.source.ufsPath}`);
    return length;
  }

  /**
   * The fill of a block, started if none is running; undefined when there is no room to cache it
   * (with `noEviction`, no free room: a prefetch).
   */
  async start(t: FillTarget, opts: { noEviction?: boolean } = {}): Promise<Fill | undefined> {
    const running = this.fills.get(t.blockId);
    if (running) return running;
    const length = BlockFiller.blockLength(t);
    let writer: BlockWriter;
    try {
      writer = await this.store.createBlock({ fileId: t.fileId, index: t.index, blockSize: t.source.blockSize, length, noEviction: opts.noEviction });
    } catch (err) {
      const again = this.fills.get(t.blockId);
      if (again) return again;
      if (StrataError.isCode(err, 'RESOURCE_EXHAUSTED') || StrataError.isCode(err, 'ALREADY_EXISTS')) {
        this.logger[opts.noEviction ? 'debug' : 'warn']({ blockId: t.blockId, err: (err as Error).message }, 'block not cached');
        return undefined;
      }
      throw err;
    }
    const fill = new Fill(t.blockId, length, writer, (f) => this.run(f, t));
    this.fills.set(t.blockId, fill);
    fill.done.finally(() => this.fills.delete(t.blockId)).catch(() => undefined);
    return fill;
  }

  /**
   * A sequential reader past the middle of a block will want the next one: start filling it
   * now, so that the UFS never waits between blocks.
   */
  readAhead(t: FillTarget, readEnd: number): void {
    const length = BlockFiller.blockLength(t);
    const next = { ...t, index: t.index + 1, blockId: blockIdOf(t.fileId, t.index + 1) };
    if (readEnd * 2 < length || next.index * t.source.blockSize >= t.source.fileLength) return;
    if (this.store.has(next.blockId) || this.fills.has(next.blockId)) return;
    this.start(next).catch((err: unknown) => this.logger.warn({ err: (err as Error).message, blockId: next.blockId }, 'read-ahead fill failed'));
  }

  private async run(fill: Fill, t: FillTarget): Promise<BlockMeta> {
    try {
      const ufs = await this.ufs.get(t.source.mountId);
      const stream = await ufs.openRange(t.source.ufsPath, t.index * t.source.blockSize, fill.length);
      // Chunks off the network are small (16-64 KiB): writing them in batches (one writev, no
      // copy into a bigger buffer) costs the worker's thread far fewer file-system calls, and
      // readers still see progress often.
      let batch: Buffer[] = [];
      let batchBytes = 0;
      const flush = async () => {
        if (batchBytes === 0) return;
        await fill.writer.write(batch);
        fill.written += batchBytes;
        this.onUfsBytes(batchBytes);
        batch = [];
        batchBytes = 0;
        fill.emit('progress');
      };
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        batch.push(chunk);
        batchBytes += chunk.length;
        if (batchBytes >= FILL_WRITE_BATCH || batch.length >= FILL_WRITE_CHUNKS) await flush();
      }
      await flush();
      if (fill.written !== fill.length) {
        throw new StrataError('DATA_LOSS', `${t.source.ufsPath} is shorter than expected: got ${fill.written} of ${fill.length} bytes of block ${t.index} (the file changed in the UFS?)`);
      }
      const meta = await fill.writer.commit();
      await this.onCommitted(meta);
      return meta;
    } catch (err) {
      await fill.writer.abort().catch(() => undefined);
      this.logger.warn({ blockId: t.blockId, err: (err as Error).message }, 'block fill failed');
      throw toStrataError(err, `Reading ${t.source.ufsPath} from the UFS`);
    }
  }
}
