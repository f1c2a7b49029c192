/**
 * A minimal async mutex. The block store runs every decision that places, moves or deletes
 * bytes (allocation, eviction, promotion, removal, cache-file creation and unlink) under one,
 * so the steps of one decision never interleave with another's at an await.
 */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  /** Runs fn once every earlier caller has finished; the lock is released even if fn throws. */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /** Resolves when everything queued so far has run. */
  idle(): Promise<void> {
    return this.tail;
  }
}
