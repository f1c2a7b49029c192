/**
 * Reads one long byte range as parallel part GETs and yields the parts in order. A single GET
 * runs at what one connection and one server thread give; several ranges in flight hide the
 * per-request latency and let the server's disk and CPUs work in parallel. Memory is bounded by
 * concurrency x partSize: a part is fetched only when a slot frees. Every part must carry the
 * ETag of the first, so an object replaced mid-read fails instead of mixing two versions.
 * When the reader stops early, the parts still in flight are aborted.
 */
import { Readable } from 'node:stream';
import { StrataError } from '../common/errors.js';

export type FetchPart = (offset: number, length: number, signal: AbortSignal) => Promise<{ data: Buffer; etag: string }>;

export interface RangeRead {
  address: string;
  offset: number;
  length: number;
  partSize: number;
  concurrency: number;
}

async function* parts(fetch: FetchPart, r: RangeRead): AsyncGenerator<Buffer> {
  const controller = new AbortController();
  const end = r.offset + r.length;
  const queue: Array<Promise<{ data: Buffer; etag: string }>> = [];
  let next = r.offset;
  const schedule = (): void => {
    while (queue.length < r.concurrency && next < end) {
      const length = Math.min(r.partSize, end - next);
      const p = fetch(next, length, controller.signal);
      p.catch(() => undefined); // awaited in order below; not unhandled meanwhile
      queue.push(p);
      next += length;
    }
  };
  let etag: string | undefined;
  try {
    schedule();
    while (queue.length > 0) {
      const part = await queue.shift()!;
      etag ??= part.etag;
      if (part.etag !== etag) {
        throw new StrataError('DATA_LOSS', `${r.address} changed while being read (ETag ${etag} became ${part.etag})`);
      }
      schedule();
      yield part.data;
    }
  } finally {
    controller.abort();
  }
}

export function readParallelRange(fetch: FetchPart, r: RangeRead): Readable {
  return Readable.from(parts(fetch, r), { objectMode: false, highWaterMark: 1 });
}
