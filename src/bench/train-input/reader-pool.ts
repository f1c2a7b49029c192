/**
 * P reader threads over one dataset location, started once and reused for every epoch, so that
 * thread start-up (and loading the SDK) stays out of the timed epochs.
 */
import { Worker } from 'node:worker_threads';
import { clockMs } from '../clock.js';
import type { DatasetLocation } from './dataset-location.js';
import type { FromReader, ReaderThreadData, ToReader } from './reader-thread.js';

export interface EpochTotals {
  /** When the epoch started (clockMs()). */
  startedAt: number;
  seconds: number;
  bytes: number;
  files: number;
  /** Pixels decoded (0 without decoding). */
  pixels: number;
}

export class ReaderPool {
  private constructor(private readonly threads: Worker[]) {}

  static async start(location: DatasetLocation, files: string[], readers: number, decode: boolean, inFlight = 1): Promise<ReaderPool> {
    const workerData: ReaderThreadData = { location, files, decode, inFlight };
    const threads: Worker[] = [];
    const pool = new ReaderPool(threads);
    try {
      for (let i = 0; i < readers; i++) threads.push(new Worker(new URL('./reader-thread.js', import.meta.url), { workerData }));
      await Promise.all(threads.map((t) => nextMessage(t).then((m) => void (m.type === 'error' && fail(m.message)))));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  /** Reads every file once, in `order` (indexes into the files), all threads taking from it. */
  async epoch(order: number[]): Promise<EpochTotals> {
    const shared = new Int32Array(new SharedArrayBuffer(4 * order.length));
    shared.set(order);
    const next = new Int32Array(new SharedArrayBuffer(4));
    const startedAt = clockMs();
    const replies = this.threads.map((t) => nextMessage(t));
    for (const t of this.threads) t.postMessage({ type: 'epoch', order: shared, next } satisfies ToReader);
    const totals: EpochTotals = { startedAt, seconds: 0, bytes: 0, files: 0, pixels: 0 };
    for (const m of await Promise.all(replies)) {
      if (m.type === 'error') fail(m.message);
      if (m.type === 'done') {
        totals.bytes += m.bytes;
        totals.files += m.files;
        totals.pixels += m.pixels;
      }
    }
    totals.seconds = (clockMs() - startedAt) / 1000;
    return totals;
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.terminate()));
  }
}

function fail(message: string): never {
  throw new Error(`reader: ${message}`);
}

/** The thread's next message; a thread that dies instead rejects it. */
function nextMessage(t: Worker): Promise<FromReader> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: FromReader) => {
      cleanup();
      resolve(m);
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new Error(`reader thread exited with code ${code}`));
    };
    const cleanup = () => {
      t.off('message', onMessage).off('error', onError).off('exit', onExit);
    };
    t.on('message', onMessage).on('error', onError).on('exit', onExit);
  });
}
