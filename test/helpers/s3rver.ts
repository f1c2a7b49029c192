/** The s3rver starter tests share with the benchmarks (src/bench/s3rver.ts). */
export { S3RVER_KEY, s3rverScript, startS3rver, type S3Server } from '../../src/bench/s3rver.js';
