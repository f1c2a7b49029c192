/**
 * Gathers the small chunks a socket delivers (16-64 KiB) into chunks of about `size` bytes.
 * Whoever consumes a UFS stream (the worker's block fill) pays per chunk: one cache-file write,
 * one wake-up of waiting readers. The local connector reads 1 MiB at a time; S3 bodies arrive
 * in socket-sized pieces, so they are coalesced to the same size before they are handed on.
 */
import { Readable } from 'node:stream';

async function* gather(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of source) {
    if (bytes === 0 && chunk.length >= size) {
      yield chunk;
      continue;
    }
    pending.push(chunk);
    bytes += chunk.length;
    if (bytes >= size) {
      yield Buffer.concat(pending, bytes);
      pending = [];
      bytes = 0;
    }
  }
  if (bytes > 0) yield Buffer.concat(pending, bytes);
}

export function coalesce(source: AsyncIterable<Buffer>, size = 1 << 20): Readable {
  return Readable.from(gather(source, size), { objectMode: false, highWaterMark: 1 });
}
