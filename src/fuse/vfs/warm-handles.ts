/**
 * Wholly cached files stay open for a while after their last close: the worker's lease, the
 * cache file descriptor and (at the FUSE edge) the passthrough backing id are kept, so opening
 * the file again — the next epoch of a training job — costs no round trip to the worker.
 * Handles are keyed by the file's identity (id, length, mtime), never by path, so a file
 * replaced under the same name gets a fresh handle. Idle ones are closed after idleMs, the
 * oldest first beyond maxIdle files or maxIdleBytes, and none is reused past maxAgeMs (under the
 * worker's lease timeout). Only files up to maxFileBytes are kept: for them the round trip is a
 * large part of a read, and a lease held on a big file would keep much of the cache from eviction.
 */
import type { FileInfo, WorkerAddress } from '../../common/types.js';
import { addressKey } from '../../client/worker-picker.js';
import type { ReadHandle } from './read-handle.js';

export interface WarmHandlesOptions {
  idleMs: number;
  maxIdle: number;
  maxIdleBytes: number;
  maxFileBytes: number;
  maxAgeMs: number;
}

interface Entry {
  handle: ReadHandle;
  refs: number;
  openedAtMs: number;
  idleSinceMs?: number;
  /** Its file left the worker's cache while open here: closed at its last release, not kept. */
  removed?: boolean;
}

function keyOf(info: FileInfo): string {
  return `${info.fileId}:${info.length}:${info.lastModificationTimeMs}`;
}

export class WarmHandles {
  /** Map order is least recently used first: take() moves an entry to the end. */
  private readonly entries = new Map<string, Entry>();
  private readonly keys = new WeakMap<ReadHandle, string>();
  private idle = 0;
  private idleBytes = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly opts: WarmHandlesOptions) {
    if (opts.idleMs > 0) {
      this.timer = setInterval(() => void this.sweep(), Math.max(100, Math.floor(opts.idleMs / 2)));
      this.timer.unref();
    }
  }

  /**
   * The open handle of this very file, one more reference taken; undefined if none is warm.
   * Metadata fetched after the handle's lease saying the file is no longer wholly cached
   * (`fs free`) lets an idle handle go, so its lease no longer holds the blocks.
   */
  async take(info: FileInfo, infoAtMs = Date.now(), nowMs = Date.now()): Promise<ReadHandle | undefined> {
    const key = keyOf(info);
    const e = this.entries.get(key);
    if (!e) return undefined;
    const freed = e.removed || (info.inAlluxioPercentage < 100 && infoAtMs >= e.openedAtMs);
    if (freed || nowMs - e.openedAtMs > this.opts.maxAgeMs) {
      if (e.refs === 0) await this.closeIdle((x) => x === e);
      return undefined;
    }
    if (e.refs++ === 0) {
      e.idleSinceMs = undefined;
      this.idle--;
      this.idleBytes -= e.handle.info.length;
    }
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.handle;
  }

  /** The warm handle of this very file, if one is kept and still good to open; no reference taken. */
  peek(info: FileInfo, nowMs = Date.now()): ReadHandle | undefined {
    const e = this.entries.get(keyOf(info));
    return e && !e.removed && nowMs - e.openedAtMs <= this.opts.maxAgeMs ? e.handle : undefined;
  }

  /** Keeps a newly opened handle for reuse when it holds the whole file locally; returns it. */
  adopt(handle: ReadHandle, nowMs = Date.now()): ReadHandle {
    // Not kept: not whole locally, too big, or a concurrent open's handle is kept already.
    if (!handle.wholeFile || !this.wants(handle.info)) return handle;
    const key = keyOf(handle.info);
    this.entries.set(key, { handle, refs: 1, openedAtMs: handle.leasedAtMs ?? nowMs });
    this.keys.set(handle, key);
    return handle;
  }

  /** Whether this handle is one kept here. */
  holds(handle: ReadHandle): boolean {
    return this.keys.has(handle);
  }

  /** Whether a handle on this file would be kept. */
  wants(info: FileInfo): boolean {
    return this.opts.idleMs > 0 && info.length <= this.opts.maxFileBytes && !this.entries.has(keyOf(info));
  }

  /** Keeps a handle no one has open yet (leased ahead of its next open); false if it is not kept. */
  async adoptIdle(handle: ReadHandle, nowMs = Date.now()): Promise<boolean> {
    if (!handle.wholeFile || !this.wants(handle.info)) return false;
    const key = keyOf(handle.info);
    this.entries.set(key, { handle, refs: 0, openedAtMs: handle.leasedAtMs ?? nowMs, idleSinceMs: nowMs });
    this.keys.set(handle, key);
    this.idle++;
    this.idleBytes += handle.info.length;
    const over = () => this.idle > this.opts.maxIdle || this.idleBytes > this.opts.maxIdleBytes;
    if (over()) await this.closeIdle(over);
    return true;
  }

  /** Drops one reference. False when the handle is not kept here: the caller closes it. */
  async release(handle: ReadHandle, nowMs = Date.now()): Promise<boolean> {
    const key = this.keys.get(handle);
    const e = key === undefined ? undefined : this.entries.get(key);
    if (!e || e.handle !== handle) return false;
    if (--e.refs > 0) return true;
    if (e.removed && !handle.inUseElsewhere?.(0)) {
      this.entries.delete(key!);
      await handle.release();
    } else {
      e.idleSinceMs = nowMs;
      this.idle++;
      this.idleBytes += e.handle.info.length;
      const over = () => this.idle > this.opts.maxIdle || this.idleBytes > this.opts.maxIdleBytes;
      if (over()) await this.closeIdle(over);
    }
    return true;
  }

  /** The local workers whose leases the kept handles hold. */
  workers(): WorkerAddress[] {
    const out = new Map<string, WorkerAddress>();
    for (const e of this.entries.values()) {
      const w = e.handle.localWorker;
      if (w) out.set(addressKey(w), w);
    }
    return [...out.values()];
  }

  /**
   * These files left the cache (`fs free`, a delete) while kept here: their leases keep the
   * worker from giving their room back, so idle handles close now and open ones at their last
   * release. A handle that the FUSE edge has open natively closes once that is closed.
   */
  async letGo(fileIds: ReadonlySet<number>): Promise<void> {
    for (const e of this.entries.values()) if (fileIds.has(e.handle.info.fileId)) e.removed = true;
    await this.closeIdle((e) => e.removed === true);
  }

  /** Closes idle handles past their time (and, after maxAge, ones no longer worth reusing). */
  async sweep(nowMs = Date.now()): Promise<void> {
    // Idle here may still be in use where opens do not reach this cache (native opens): those
    // are kept until idle there too, but never past their age.
    await this.closeIdle((e) => nowMs - e.idleSinceMs! >= this.opts.idleMs, this.opts.idleMs);
    await this.closeIdle((e) => nowMs - e.openedAtMs > this.opts.maxAgeMs);
  }

  async closeAll(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.closeIdle(() => true);
  }

  get size(): number {
    return this.entries.size;
  }

  private async closeIdle(shouldClose: (e: Entry) => boolean, recentMs = 0): Promise<void> {
    const closing: ReadHandle[] = [];
    for (const [key, e] of this.entries) {
      if (e.refs > 0 || !shouldClose(e) || e.handle.inUseElsewhere?.(recentMs)) continue;
      this.entries.delete(key);
      this.idle--;
      this.idleBytes -= e.handle.info.length;
      closing.push(e.handle);
    }
    await Promise.all(closing.map((h) => h.release().catch(() => undefined)));
  }
}
