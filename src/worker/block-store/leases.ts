/**
 * Leases for short-circuit reads: a client that holds one may open the cache file itself, so
 * a leased block must stay where it is (no eviction, move or hole punch) until the lease is
 * released or expires. Expired leases are swept by an unref'ed timer and before any eviction.
 */
import { randomUUID } from 'node:crypto';

interface LeaseEntry {
  blockIds: number[];
  expiresAtMs: number;
}

export class LeaseTable {
  private readonly leases = new Map<string, LeaseEntry>();
  private readonly counts = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  /**
   * No lease expires before this (a lower bound: renewals only push expiries later). Every
   * eviction sweeps first, and a mount's warm files hold thousands of leases: without it each
   * sweep walked all of them.
   */
  private earliestExpiryMs = Infinity;
  private changeCount = 0;

  /** onUnleased is told of each block whose last lease went away. */
  constructor(
    private readonly onUnleased: (blockId: number) => void,
    sweepIntervalMs: number,
  ) {
    this.timer = setInterval(() => this.sweep(), sweepIntervalMs);
    this.timer.unref();
  }

  acquire(blockIds: number[], ttlMs: number, nowMs = Date.now()): string {
    const leaseId = randomUUID();
    const ids = [...new Set(blockIds)];
    this.leases.set(leaseId, { blockIds: ids, expiresAtMs: nowMs + ttlMs });
    this.earliestExpiryMs = Math.min(this.earliestExpiryMs, nowMs + ttlMs);
    this.changeCount++;
    for (const id of ids) this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
    return leaseId;
  }

  /** Ends a lease; false if it is unknown or already expired. */
  release(leaseId: string): boolean {
    const lease = this.leases.get(leaseId);
    if (!lease) return false;
    this.leases.delete(leaseId);
    this.changeCount++;
    for (const id of lease.blockIds) {
      const left = (this.counts.get(id) ?? 1) - 1;
      if (left > 0) {
        this.counts.set(id, left);
      } else {
        this.counts.delete(id);
        this.onUnleased(id);
      }
    }
    return true;
  }

  /** Extends leases to `ttlMs` from now; answers how many were still held (expired ones are gone). */
  renew(leaseIds: Iterable<string>, ttlMs: number, nowMs = Date.now()): number {
    let renewed = 0;
    for (const id of leaseIds) {
      const lease = this.leases.get(id);
      if (!lease) continue;
      lease.expiresAtMs = nowMs + ttlMs;
      renewed++;
    }
    return renewed;
  }

  /** Goes up with every lease taken or ended. */
  get changes(): number {
    return this.changeCount;
  }

  /** Leases held now, and the blocks they cover. */
  get held(): { leases: number; blocks: number } {
    return { leases: this.leases.size, blocks: this.counts.size };
  }

  isLeased(blockId: number): boolean {
    return this.counts.has(blockId);
  }

  /** Ends every lease past its expiry. */
  sweep(nowMs = Date.now()): void {
    if (nowMs < this.earliestExpiryMs) return;
    let earliest = Infinity;
    for (const [id, lease] of this.leases) {
      if (lease.expiresAtMs <= nowMs) this.release(id);
      else earliest = Math.min(earliest, lease.expiresAtMs);
    }
    this.earliestExpiryMs = earliest;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
