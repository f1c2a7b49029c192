/**
 * Where a client gets a byte range of a block: a remote (or local) worker's data server over
 * HTTP, which also reads through from the UFS when the block is not cached; or short-circuit,
 * straight from a local worker's cache file under a lease.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { StrataError } from '../common/errors.js';
import type { RpcClient } from '../common/rpc/client.js';
import { ufsSourceOf, type FileInfo, type ReadType } from '../common/types.js';

export { WorkerRpcPool as WorkerClients } from '../common/rpc/pool.js';

/** Reads [offset, offset+length) of block `index` of a file through a worker into `into`. */
export async function readViaWorker(
  client: RpcClient,
  file: FileInfo,
  index: number,
  offset: number,
  length: number,
  readType: ReadType,
  into: Buffer,
): Promise<number> {
  const block = file.blocks![index]!;
  const res = await client.download('/api/v1/read', {
    blockId: block.blockId,
    offset,
    length,
    readType,
    mountId: file.mountId,
    ufsPath: file.persistenceState === 'PERSISTED' ? file.ufsPath : undefined,
    fileLength: file.length,
    blockSize: file.blockSize,
    fingerprint: file.fingerprint,
  });
  let at = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    if (at + chunk.length > into.length) throw new StrataError('DATA_LOSS', `Worker sent more than the ${length} bytes asked for`);
    chunk.copy(into, at);
    at += chunk.length;
  }
  if (at !== length) throw new StrataError('UNAVAILABLE', `Read of block ${block.blockId} of ${file.path} ended after ${at} of ${length} bytes`);
  return at;
}

export interface LeasedBlock {
  blockId: number;
  cacheFile: string;
  offset: number;
  length: number;
  tier: string;
}

type LeaseReply = { leaseId: string; blocks: LeasedBlock[] } | null;

/**
 * Lease requests to one worker: the first goes at once; those made while it is answered go
 * together in the next call, so readers opening many files at once cost a round trip per batch,
 * not per file.
 */
class LeaseBatcher {
  private queue: Array<{ blockIds: number[]; promote: boolean; done: (r: LeaseReply) => void; fail: (err: unknown) => void }> = [];
  private busy = false;

  constructor(private readonly worker: RpcClient) {}

  lease(blockIds: number[], promote: boolean): Promise<LeaseReply> {
    return new Promise((done, fail) => {
      this.queue.push({ blockIds, promote, done, fail });
      this.send();
    });
  }

  private send(): void {
    if (this.busy || this.queue.length === 0) return;
    const batch = this.queue.splice(0, 512);
    this.busy = true;
    this.worker
      .call<{ leases: LeaseReply[] }>('POST', '/api/v1/leases', { body: { requests: batch.map(({ blockIds, promote }) => ({ blockIds, promote })) } })
      .then(
        (r) => batch.forEach((q, i) => q.done(r.leases[i] ?? null)),
        (err: unknown) => batch.forEach((q) => q.fail(err)),
      )
      .finally(() => {
        this.busy = false;
        this.send();
      });
  }
}

const batchers = new WeakMap<RpcClient, LeaseBatcher>();

function leaseBatcher(worker: RpcClient): LeaseBatcher {
  let b = batchers.get(worker);
  if (!b) batchers.set(worker, (b = new LeaseBatcher(worker)));
  return b;
}

/**
 * Keeps a worker's leases alive while their holders are: a reader may keep a file open longer
 * than the lease timeout (an epoch over a big file, a kernel mapping, a passthrough open), and
 * a lease that expires lets the worker evict and punch bytes the reader still reads. Every
 * lease held on the worker is renewed in one call, a few times per timeout.
 */
export class LeaseKeeper {
  private readonly held = new Set<string>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly worker: RpcClient,
    private readonly everyMs: number,
  ) {}

  hold(leaseId: string): void {
    this.held.add(leaseId);
    if (!this.timer) {
      this.timer = setInterval(() => void this.renew(), this.everyMs);
      this.timer.unref();
    }
  }

  /** Ends a lease: no longer renewed, and given back to the worker (which may be gone: no error). */
  async release(leaseId: string): Promise<void> {
    this.held.delete(leaseId);
    if (this.held.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    await this.worker.call('POST', '/api/v1/lease/release', { body: { leaseId } }).catch(() => undefined);
  }

  private async renew(): Promise<void> {
    // A worker that is gone has dropped the leases anyway; its readers fail over as they read.
    await this.worker.call('POST', '/api/v1/leases/renew', { body: { leaseIds: [...this.held] } }).catch(() => undefined);
  }
}

const keepers = new WeakMap<RpcClient, LeaseKeeper>();

/** The one keeper of a worker's leases, renewing every `everyMs`. */
export function leaseKeeper(worker: RpcClient, everyMs: number): LeaseKeeper {
  let k = keepers.get(worker);
  if (!k) keepers.set(worker, (k = new LeaseKeeper(worker, everyMs)));
  return k;
}

/** Short-circuit reads of one file's blocks from a worker on this host. */
export class ShortCircuitReader {
  private readonly blocks = new Map<number, LeasedBlock>();
  private readonly handles = new Map<string, FileHandle>();
  private readonly leases: string[] = [];

  constructor(
    private readonly worker: RpcClient,
    private readonly keeper: LeaseKeeper,
  ) {}

  has(blockId: number): boolean {
    return this.blocks.has(blockId);
  }

  /** Leases blocks (no eviction until released); false when the worker no longer has them. */
  async lease(blockIds: number[], promote: boolean): Promise<boolean> {
    const r = await leaseBatcher(this.worker).lease(blockIds, promote);
    if (!r) return false;
    this.leases.push(r.leaseId);
    this.keeper.hold(r.leaseId);
    for (const b of r.blocks) this.blocks.set(b.blockId, b);
    return true;
  }

  /** Where a leased block's bytes are: its cache file, at the block's offset in the file. */
  location(blockId: number): LeasedBlock | undefined {
    return this.blocks.get(blockId);
  }

  async handle(cacheFile: string): Promise<FileHandle> {
    let fh = this.handles.get(cacheFile);
    if (!fh) this.handles.set(cacheFile, (fh = await open(cacheFile, 'r')));
    return fh;
  }

  async read(blockId: number, offset: number, into: Buffer, length: number): Promise<number> {
    const b = this.blocks.get(blockId)!;
    const fh = await this.handle(b.cacheFile);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await fh.read(into, done, length - done, b.offset + offset + done);
      if (bytesRead === 0) throw new StrataError('DATA_LOSS', `Cache file ${b.cacheFile} is shorter than block ${blockId}`);
      done += bytesRead;
    }
    return done;
  }

  async close(): Promise<void> {
    for (const fh of this.handles.values()) await fh.close().catch(() => undefined);
    this.handles.clear();
    for (const leaseId of this.leases.splice(0)) await this.keeper.release(leaseId);
    this.blocks.clear();
  }
}

/** A worker's answer to `/api/v1/fill`. */
export interface FillReply {
  /** Where the block starts in its cache file, and how many of its bytes are in. */
  cacheFile?: string;
  offset?: number;
  filled?: number;
  /**
   * The fill is leased to the caller (asked with `lease`): its bytes stay until released. A
   * block cached already is leased too, and answered as a complete fill.
   */
  leaseId?: string;
  /** The block is cached whole already; or it cannot be cached on this worker. */
  cached?: boolean;
  fallback?: boolean;
}

/**
 * Asks a worker on this host to fill block `index` from the UFS (or join its fill) and answer
 * once the block's first `until` bytes are in its cache file (and, asked to, `ahead` more).
 */
export function requestFill(client: RpcClient, file: FileInfo, index: number, until: number, opts: { ahead?: number; lease?: boolean; promote?: boolean } = {}): Promise<FillReply> {
  const block = file.blocks![index]!;
  return client.call<FillReply>('POST', '/api/v1/fill', {
    body: {
      blockId: block.blockId,
      until,
      ...opts,
      source: ufsSourceOf(file),
    },
  });
}

/**
 * Reads a range of a block that a worker on this host is filling from the UFS (or starts the
 * fill), straight from its cache file once the bytes are in. Undefined when the worker cannot
 * cache it or already has it whole (then the ordinary paths serve it).
 */
export async function readFillingLocally(
  client: RpcClient,
  file: FileInfo,
  index: number,
  offset: number,
  length: number,
  into: Buffer,
): Promise<number | undefined> {
  const r = await requestFill(client, file, index, offset + length);
  if (!r.cacheFile || r.offset === undefined) return undefined;
  const fh = await open(r.cacheFile, 'r');
  try {
    let done = 0;
    while (done < length) {
      const { bytesRead } = await fh.read(into, done, length - done, r.offset + offset + done);
      if (bytesRead === 0) throw new StrataError('DATA_LOSS', `Cache file ${r.cacheFile} is shorter than the fill said`);
      done += bytesRead;
    }
    return done;
  } finally {
    await fh.close();
  }
}
