/**
 * The training-input benchmark at the sizes: 2,000 images of 100 KB, 8 readers, 3 epochs,
 * the UFS behind a proxy of 20 ms per request and 100 MB/s. It runs `strata bench train-input`
 * (see src/cli/bench/train-input.ts); arguments given here are passed on (--decode, --count, ...).
 *   npm run build && node dist/bench/train-input.js [--decode]   (as root: FUSE, page-cache drops)
 */
process.env.UV_THREADPOOL_SIZE ??= '16'; // as bin/strata sets it
const { main } = await import('../src/cli/main.js');

process.exitCode = await main(['bench', 'train-input', '--slow-ufs', 'latency=20ms,bandwidth=100MB/s', ...process.argv.slice(2)]);
