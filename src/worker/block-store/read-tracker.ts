/**
 * Counts reads in flight per block location, so that a block's old range is punched only once
 * the reads that started there have finished (a move commits to the new location first, new
 * reads go there, and the old range is freed after the stragglers).
 */
export class ReadTracker {
  private readonly active = new Map<string, number>();
  private readonly waiters = new Map<string, (() => void)[]>();

  static key(dir: string, blockId: number): string {
    return `${dir}#${blockId}`;
  }

  begin(key: string): void {
    this.active.set(key, (this.active.get(key) ?? 0) + 1);
  }

  end(key: string): void {
    const left = (this.active.get(key) ?? 1) - 1;
    if (left > 0) {
      this.active.set(key, left);
      return;
    }
    this.active.delete(key);
    const waiting = this.waiters.get(key);
    this.waiters.delete(key);
    for (const wake of waiting ?? []) wake();
  }

  /** Resolves once no read of this location is in flight. */
  drained(key: string): Promise<void> {
    if (!this.active.has(key)) return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.waiters.get(key) ?? [];
      list.push(resolve);
      this.waiters.set(key, list);
    });
  }
}
