/** The table and JSON helpers benchmarks share (src/bench/report.ts). */
export * from '../src/bench/report.js';
