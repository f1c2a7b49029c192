/**
 * Reads one long byte range as parallel part GETs and yields the bytes in order. A single GET
 * runs at what one connection and one server thread give; several ranges in flight hide the
 * per-request latency and let the server's disk and CPUs work in parallel. The part being
 * yielded streams through as its bytes arrive (no wait for a whole part before the first byte);
 * the parts behind it are gathered in memory, so memory is bounded by concurrency x partSize.
 * Every part must carry the ETag of the first, so an object replaced mid-read fails instead of
 * mixing two versions. When the reader stops early, the parts still in flight are aborted.
 */
import { setMaxListeners } from 'node:events';
import { Readable } from 'node:stream';
import { StrataError } from '../common/errors.js';

export type FetchPart = (offset: number, length: number, signal: AbortSignal) => Promise<{ body: AsyncIterable<Buffer>; etag: string }>;

export interface RangeRead {
  address: string;
  offset: number;
  length: number;
  partSize: number;
  concurrency: number;
}

/** One part's bytes, gathered as they arrive and handed on in order. */
class Part {
  private readonly chunks: Buffer[] = [];
  private done = false;
  private error?: unknown;
  private wake?: () => void;
  etag?: string;

  constructor(fetched: Promise<{ body: AsyncIterable<Buffer>; etag: string }>) {
    void this.gather(fetched);
  }

  private async gather(fetched: Promise<{ body: AsyncIterable<Buffer>; etag: string }>): Promise<void> {
    try {
      const { body, etag } = await fetched;
      this.etag = etag;
      this.notify();
      for await (const c of body) {
        this.chunks.push(c);
        this.notify();
      }
    } catch (err) {
      this.error = err;
    }
    this.done = true;
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async next(): Promise<void> {
    await new Promise<void>((resolve) => (this.wake = resolve));
  }

  async headers(): Promise<string> {
    while (this.etag === undefined && !this.done) await this.next();
    if (this.error) throw this.error;
    return this.etag!;
  }

  async *bytes(): AsyncGenerator<Buffer> {
    for (;;) {
      if (this.chunks.length > 0) {
        yield this.chunks.shift()!;
        continue;
      }
      if (this.error) throw this.error;
      if (this.done) return;
      await this.next();
    }
  }
}

async function* parts(fetch: FetchPart, r: RangeRead): AsyncGenerator<Buffer> {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal); // one listener per part request
  const end = r.offset + r.length;
  const queue: Part[] = [];
  let next = r.offset;
  const schedule = (): void => {
    while (queue.length < r.concurrency && next < end) {
      const length = Math.min(r.partSize, end - next);
      queue.push(new Part(fetch(next, length, controller.signal)));
      next += length;
    }
  };
  let etag: string | undefined;
  try {
    schedule();
    while (queue.length > 0) {
      const part = queue[0]!;
      const partEtag = await part.headers();
      etag ??= partEtag;
      if (partEtag !== etag) throw new StrataError('DATA_LOSS', `${r.address} changed while being read (ETag ${etag} became ${partEtag})`);
      yield* part.bytes();
      queue.shift();
      schedule();
    }
  } finally {
    controller.abort();
  }
}

export function readParallelRange(fetch: FetchPart, r: RangeRead): Readable {
  return Readable.from(parts(fetch, r), { objectMode: false, highWaterMark: 1 });
}
