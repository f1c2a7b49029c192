/**
 * Least-recently-used order of committed blocks, kept in memory: a Map iterates in insertion
 * order, so touching a block re-inserts it at the end and the head is the eviction candidate.
 * Access times reach the index lazily through the dirty set, flushed in batches.
 */
export class LruOrder {
  private readonly order = new Map<number, true>();
  private readonly dirty = new Map<number, number>();

  /** Adds or refreshes a block as the most recently used. */
  touch(blockId: number, nowMs: number, persist = true): void {
    this.order.delete(blockId);
    this.order.set(blockId, true);
    if (persist) this.dirty.set(blockId, nowMs);
  }

  delete(blockId: number): void {
    this.order.delete(blockId);
    this.dirty.delete(blockId);
  }

  /** Block ids, least recently used first. */
  oldestFirst(): IterableIterator<number> {
    return this.order.keys();
  }

  /** Access times not yet written to the index; clears them. */
  takeDirty(): [number, number][] {
    const out = [...this.dirty];
    this.dirty.clear();
    return out;
  }
}
