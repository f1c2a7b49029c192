/** The CLI environment tests share with the benchmarks (src/bench/cli-env.ts). */
export { CliEnv, STRATA, freePort, mountsUnder, waitForExit, type RunResult } from '../../src/bench/cli-env.js';
