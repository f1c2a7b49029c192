/**
 * Milliseconds on the system's monotonic clock, which every process reads alike: a benchmark
 * lines up its own timings with a child's (the throttling proxy's). performance.now() counts
 * from each process's start, and performance.timeOrigin moves with the wall clock.
 */
export const clockMs = (): number => Number(process.hrtime.bigint()) / 1e6;
