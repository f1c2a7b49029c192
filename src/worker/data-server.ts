/**
 * The worker's data server: streams block ranges (from the cache, or read through from the
 * UFS), takes whole-file writes, grants short-circuit leases on cache files, and does the
 * block-level work the master asks for (remove, persist, load).
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { StrataError } from '../common/errors.js';
import type { Logger } from '../common/logging.js';
import type { Counter } from '../common/metrics.js';
import { RAW, type HttpServer, type RequestContext } from '../common/rpc/server.js';
import { READ_TYPES, WRITE_TYPES, blockIdOf, fileIdOfBlock, indexOfBlock, type ReadType, type UfsBlockSource, type WriteType } from '../common/types.js';
import type { BlockStore } from './block-store/index.js';
import { BlockFiller, type Fill } from './block-fill.js';
import type { MasterLink } from './master-link.js';
import type { Persister } from './persister.js';
import type { Prefetcher } from './prefetcher.js';
import type { UfsAccess } from './ufs-access.js';
import { FileWriter } from './file-writer.js';

export interface WorkerMetrics {
  bytesRead: Counter<'source'>;
  blockRequests: Counter<'result'>;
  bytesWritten: Counter<'target'>;
}

const CHUNK = 1 << 20;

async function write(res: ServerResponse, chunk: Uint8Array): Promise<void> {
  if (!res.write(chunk)) {
    await new Promise<void>((resolve, reject) => {
      const onClose = () => reject(new StrataError('CANCELLED', 'reader went away'));
      res.once('drain', () => {
        res.off('close', onClose);
        resolve();
      });
      res.once('close', onClose);
    });
  }
}

/**
 * Copies bytes of a cache file to the response, waiting on a fill for bytes not yet in.
 * `beforeLastChunk` runs before the final bytes go out: with a content-length the reader is
 * done at the last byte, so anything it must see afterwards has to happen first.
 */
async function sendRange(
  res: ServerResponse,
  file: string,
  fileOffset: number,
  length: number,
  opts: { fill?: { fill: Fill; blockOffset: number }; beforeLastChunk?: () => Promise<unknown> } = {},
): Promise<number> {
  const fh: FileHandle = await open(file, 'r');
  try {
    let sent = 0;
    while (sent < length) {
      const n = Math.min(CHUNK, length - sent);
      if (opts.fill) await opts.fill.fill.waitFor(opts.fill.blockOffset + sent + n);
      if (sent + n === length) await opts.beforeLastChunk?.();
      const buf = Buffer.allocUnsafe(n);
      const { bytesRead } = await fh.read(buf, 0, n, fileOffset + sent);
      if (bytesRead === 0) throw new StrataError('DATA_LOSS', `Cache file ${file} ended early`);
      await write(res, bytesRead === n ? buf : buf.subarray(0, bytesRead));
      sent += bytesRead;
    }
    return sent;
  } finally {
    await fh.close();
  }
}

async function sendStream(res: ServerResponse, stream: Readable): Promise<number> {
  let sent = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    await write(res, chunk);
    sent += chunk.length;
  }
  return sent;
}

function int(q: URLSearchParams, name: string): number {
  const v = Number(q.get(name));
  if (q.get(name) === null || !Number.isSafeInteger(v) || v < 0) throw new StrataError('INVALID_ARGUMENT', `Parameter ${name} must be a non-negative integer`);
  return v;
}

function sourceOf(q: URLSearchParams): UfsBlockSource | undefined {
  if (!q.get('ufsPath')) return undefined;
  return {
    mountId: int(q, 'mountId'),
    ufsPath: q.get('ufsPath')!,
    fileLength: int(q, 'fileLength'),
    blockSize: int(q, 'blockSize'),
    fingerprint: q.get('fingerprint') ?? '',
  };
}

interface LeaseRequest {
  blockIds: number[];
  promote?: boolean;
}

export function registerDataServer(
  server: HttpServer,
  d: { store: BlockStore; filler: BlockFiller; prefetcher: Prefetcher; ufs: UfsAccess; master: MasterLink; persister: Persister; metrics: WorkerMetrics; logger: Logger; leaseTimeoutMs: number; topTier: string },
): void {
  const { store, filler, metrics } = d;
  const lease = async (b: LeaseRequest) => {
    if (b.promote) for (const id of b.blockIds) await store.promote(id).catch(() => false);
    const granted = store.acquireLease(b.blockIds, d.leaseTimeoutMs);
    for (const id of b.blockIds) store.touch(id);
    metrics.blockRequests.inc({ result: 'hit' }, b.blockIds.length);
    return { leaseId: granted.leaseId, blocks: granted.blocks.map((m) => ({ blockId: m.blockId, cacheFile: m.cacheFile, offset: m.offset, length: m.length, tier: m.tier })) };
  };

  async function read(ctx: RequestContext): Promise<typeof RAW> {
    const q = ctx.query;
    const blockId = int(q, 'blockId');
    const offset = int(q, 'offset');
    const length = int(q, 'length');
    const readType = (q.get('readType') ?? 'CACHE') as ReadType;
    if (!READ_TYPES.includes(readType)) throw new StrataError('INVALID_ARGUMENT', `Unknown read type ${readType}`);
    const res = ctx.res;
    let meta = store.get(blockId);
    if (meta) {
      if (offset + length > meta.length) throw new StrataError('INVALID_ARGUMENT', `Range ${offset}+${length} is past the end of block ${blockId} (${meta.length} bytes)`);
      if (readType === 'CACHE_PROMOTE' && meta.tier !== d.topTier && (await store.promote(blockId).catch(() => false))) meta = store.get(blockId) ?? meta;
      const lease = store.acquireLease([blockId], d.leaseTimeoutMs);
      try {
        const held = lease.blocks[0]!;
        store.touch(blockId);
        metrics.blockRequests.inc({ result: 'hit' });
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': length, 'x-strata-source': 'cache' });
        // Committed here but maybe not yet reported: the reader finishes once the master knows of it.
        const reported = async () => filler.inFlight(blockId)?.done.catch(() => undefined);
        metrics.bytesRead.inc({ source: 'cache' }, await sendRange(res, held.cacheFile, held.offset + offset, length, { beforeLastChunk: reported }));
      } finally {
        store.releaseLease(lease.leaseId);
      }
      res.end();
      return RAW;
    }
    const source = sourceOf(q);
    if (!source) throw new StrataError('NOT_FOUND', `Block ${blockId} is not cached on this worker`);
    const target = { blockId, fileId: fileIdOfBlock(blockId), index: indexOfBlock(blockId), source };
    const blockLength = BlockFiller.blockLength(target);
    if (offset + length > blockLength) throw new StrataError('INVALID_ARGUMENT', `Range ${offset}+${length} is past the end of block ${blockId} (${blockLength} bytes)`);
    metrics.blockRequests.inc({ result: 'miss' });
    const fill = readType === 'NO_CACHE' ? filler.inFlight(blockId) : await filler.start(target);
    if (!fill) {
      // NO_CACHE, or no room to cache: stream straight from the UFS.
      const ufs = await d.ufs.get(source.mountId);
      const stream = await ufs.openRange(source.ufsPath, target.index * source.blockSize + offset, length);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': length, 'x-strata-source': 'ufs' });
      metrics.bytesRead.inc({ source: 'ufs' }, await sendStream(res, stream));
      res.end();
      return RAW;
    }
    filler.readAhead(target, offset + length);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': length, 'x-strata-source': 'ufs' });
    // A reader that reaches the end of the block sees it committed (and known to the master).
    const committed = offset + length === blockLength ? () => fill.done : undefined;
    metrics.bytesRead.inc(
      { source: 'ufs' },
      await sendRange(res, fill.writer.cacheFile, fill.writer.offset + offset, length, { fill: { fill, blockOffset: offset }, beforeLastChunk: committed }),
    );
    res.end();
    return RAW;
  }

  server
    .route('GET', '/health', () => ({ ok: true, workerId: d.master.workerId }), { open: true })
    .route('GET', '/api/v1/read', read)
    .route('PUT', '/api/v1/write', async (ctx) => {
      const q = ctx.query;
      const writeType = (q.get('writeType') ?? '') as WriteType;
      if (!WRITE_TYPES.includes(writeType)) throw new StrataError('INVALID_ARGUMENT', `Unknown write type ${writeType}`);
      const writer = new FileWriter({
        store,
        ufs: d.ufs,
        fileId: int(q, 'fileId'),
        blockSize: int(q, 'blockSize'),
        writeType,
        mountId: int(q, 'mountId'),
        ufsPath: q.get('ufsPath') ?? '',
      });
      const result = await writer.run(ctx.req);
      metrics.bytesWritten.inc({ target: writeType === 'THROUGH' ? 'ufs' : 'cache' }, result.length);
      await d.master.commit(result.committed);
      return result;
    })
    .route('POST', '/api/v1/lease', async (ctx) => lease(await ctx.json<LeaseRequest>()))
    // Many leases in one call (readers opening many files at once), each granted or not alone.
    .route('POST', '/api/v1/leases', async (ctx) => {
      const b = await ctx.json<{ requests: LeaseRequest[] }>();
      const leases = [];
      for (const r of b.requests) {
        // Each alone: a failure is that request's (null), never one that drops leases granted.
        leases.push(await lease(r).catch(() => null));
      }
      return { leases };
    })
    .route('POST', '/api/v1/leases/renew', async (ctx) => {
      const b = await ctx.json<{ leaseIds: string[] }>();
      if (!Array.isArray(b.leaseIds)) throw new StrataError('INVALID_ARGUMENT', 'leaseIds must be a list');
      return { renewed: store.renewLeases(b.leaseIds, d.leaseTimeoutMs) };
    })
    // Polled by mounts that keep files open between opens: what they should let go of.
    .route('GET', '/api/v1/leases/wanted', async () => ({ blockIds: store.removedButLeased() }))
    .route('POST', '/api/v1/lease/release', async (ctx) => {
      store.releaseLease((await ctx.json<{ leaseId: string }>()).leaseId);
      return {};
    })
    .route('POST', '/api/v1/load', async (ctx) => {
      const b = await ctx.json<{ fileId: number; index: number; source: UfsBlockSource }>();
      const blockId = blockIdOf(b.fileId, b.index);
      if (store.has(blockId)) return { cached: true, already: true };
      const fill = await filler.start({ blockId, fileId: b.fileId, index: b.index, source: b.source });
      if (!fill) throw new StrataError('RESOURCE_EXHAUSTED', `No room to cache block ${blockId} on this worker`);
      await fill.done;
      return { cached: true, already: false };
    })
    // Loads in the background, many at once, never evicting: answered at once with how many
    // blocks were taken.
    .route('POST', '/api/v1/prefetch', async (ctx) => {
      const b = await ctx.json<{ blocks: Array<{ fileId: number; index: number; source: UfsBlockSource }> }>();
      if (!Array.isArray(b.blocks)) throw new StrataError('INVALID_ARGUMENT', 'blocks must be a list');
      const targets = b.blocks.map((t) => ({ blockId: blockIdOf(t.fileId, t.index), fileId: t.fileId, index: t.index, source: t.source }));
      return { queued: d.prefetcher.add(targets), pending: d.prefetcher.pending };
    })
    .route('GET', '/api/v1/prefetch/loaded', (ctx) => d.prefetcher.loadedSince(int(ctx.query, 'after')))
    .route('POST', '/api/v1/prefetch/forget', async (ctx) => {
      const b = await ctx.json<{ fileIds: number[] }>();
      if (!Array.isArray(b.fileIds)) throw new StrataError('INVALID_ARGUMENT', 'fileIds must be a list');
      d.prefetcher.forgetFiles(b.fileIds);
      return { pending: d.prefetcher.pending };
    })
    // Short-circuit for blocks not cached yet: a reader on this host waits here until the fill
    // has the bytes it wants, then reads them from the cache file itself, so cold reads do not
    // pay for a second trip through HTTP. Answers `fallback` when the block cannot be cached.
    .route('POST', '/api/v1/fill', async (ctx) => {
      const b = await ctx.json<{ blockId: number; until: number; source: UfsBlockSource; lease?: boolean; promote?: boolean; ahead?: number }>();
      const target = { blockId: b.blockId, fileId: fileIdOfBlock(b.blockId), index: indexOfBlock(b.blockId), source: b.source };
      const length = BlockFiller.blockLength(target);
      if (store.has(b.blockId)) {
        // Committed a moment ago: answered once the master knows, as a reader at the end is.
        await filler.inFlight(b.blockId)?.done.catch(() => undefined);
        if (!b.lease) return { cached: true };
        // Cached since the reader's metadata was read (a prefetch, another reader): leased in
        // this same call, and answered as a fill that is complete.
        try {
          const granted = await lease({ blockIds: [b.blockId], promote: b.promote });
          const m = granted.blocks[0]!;
          return { cacheFile: m.cacheFile, offset: m.offset, filled: m.length, leaseId: granted.leaseId };
        } catch (err) {
          // Evicted or removed meanwhile: filled again below.
          if (!StrataError.isCode(err, 'NOT_FOUND')) throw err;
        }
      }
      const fill = await filler.start(target);
      if (!fill) return { fallback: true };
      metrics.blockRequests.inc({ result: 'miss' });
      const until = Math.min(b.until, length);
      const ahead = Math.min(length, until + Math.max(0, b.ahead ?? 0));
      filler.readAhead(target, ahead);
      // A reader that leases the fill may read every byte this reply says is in without asking
      // again: the lease keeps those bytes in place even if the fill fails later.
      const leaseId = b.lease ? store.leaseFilling(b.blockId, d.leaseTimeoutMs) : undefined;
      try {
        await fill.waitFor(until);
        // Asked to, wait for a little more, so that one round trip serves several reads.
        if (ahead > until) await fill.waitFor(ahead).catch(() => undefined);
        // A reader that reaches the end sees the block committed and known to the master.
        if (fill.written === length) await fill.done;
      } catch (err) {
        if (leaseId) store.releaseLease(leaseId);
        throw err;
      }
      return { cacheFile: fill.writer.cacheFile, offset: fill.writer.offset, filled: fill.written, leaseId };
    })
    .route('POST', '/api/v1/blocks/remove', async (ctx) => {
      const b = await ctx.json<{ blockIds: number[] }>();
      for (const id of b.blockIds) await store.remove(id);
      return { removed: b.blockIds.length };
    })
    .route('POST', '/api/v1/pinned', async (ctx) => {
      store.setPinnedFiles((await ctx.json<{ fileIds: number[] }>()).fileIds);
      return {};
    })
    .route('POST', '/api/v1/persist', async (ctx) => d.persister.persist(await ctx.json()));
}
