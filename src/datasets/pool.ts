/**
 * At most `limit` async jobs in flight: add() waits while the pool is full, so a producer that is
 * faster than its writes (or its S3 PUTs) is held back instead of piling buffers up in memory.
 * The first failure is kept and rethrown by the next add() and by drain().
 */
export class BoundedPool {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(readonly limit: number) {}

  async add(job: () => Promise<void>): Promise<void> {
    while (this.inFlight.size >= this.limit && !this.failure) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure.error;
    const running: Promise<void> = job()
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => this.inFlight.delete(running));
    this.inFlight.add(running);
  }

  async drain(): Promise<void> {
    await Promise.all(this.inFlight);
    if (this.failure) throw this.failure.error;
  }
}
