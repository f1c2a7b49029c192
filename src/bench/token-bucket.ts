/**
 * A byte-rate limiter shared by many streams: a token bucket kept as one "theoretical arrival
 * time" (GCRA). Each reservation takes the next slot in line, so streams share the rate in the
 * order they ask, and a stream that was late does not lose its turn: the schedule is absolute,
 * so timer slack on one chunk is made up by the next ones (up to the burst).
 */
export class TokenBucket {
  /** When, on performance.now()'s clock, the bytes reserved so far will have drained. */
  private drainedAt = 0;
  private readonly burstMs: number;

  constructor(
    readonly bytesPerSecond: number,
    burstBytes: number,
  ) {
    if (!(bytesPerSecond > 0)) throw new RangeError(`bytesPerSecond must be positive, got ${bytesPerSecond}`);
    this.burstMs = (burstBytes * 1000) / bytesPerSecond;
  }

  /** Reserves `bytes` and returns how many milliseconds to wait before sending them. */
  reserve(bytes: number): number {
    if (!Number.isFinite(this.bytesPerSecond)) return 0;
    const now = performance.now();
    this.drainedAt = Math.max(now, this.drainedAt) + (bytes * 1000) / this.bytesPerSecond;
    return Math.max(0, this.drainedAt - this.burstMs - now);
  }
}
