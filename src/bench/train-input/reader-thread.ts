/**
 * One reader of a training input pipeline, in its own thread: a DataLoader worker or a tf.data
 * map call. Per epoch it takes the next index of the shared shuffled order until none is left,
 * reads that whole file and, when asked, decodes it; then it reports what it read. With
 * `inFlight` above 1 it keeps that many reads going at once (an asynchronous loader, or the most
 * a UFS gives when asked for many objects at once).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openReader, type DatasetLocation } from './dataset-location.js';

export interface ReaderThreadData {
  location: DatasetLocation;
  files: string[];
  decode: boolean;
  inFlight: number;
}

export type ToReader = { type: 'epoch'; order: Int32Array; next: Int32Array };
export type FromReader = { type: 'ready' } | { type: 'done'; bytes: number; files: number; pixels: number } | { type: 'error'; message: string };

const data = workerData as ReaderThreadData;
const port = parentPort!;
const post = (m: FromReader) => port.postMessage(m);

async function epoch(order: Int32Array, next: Int32Array, read: (rel: string) => Promise<Buffer>, decode?: (buf: Buffer) => number): Promise<void> {
  let bytes = 0;
  let files = 0;
  let pixels = 0;
  const loop = async (): Promise<void> => {
    for (let i = Atomics.add(next, 0, 1); i < order.length; i = Atomics.add(next, 0, 1)) {
      const rel = data.files[order[i]!]!;
      let buf: Buffer;
      try {
        buf = await read(rel);
      } catch (err) {
        throw new Error(`${rel}: ${(err as Error).message}`);
      }
      bytes += buf.length;
      files++;
      if (decode) pixels += decode(buf);
    }
  };
  try {
    await Promise.all(Array.from({ length: data.inFlight }, loop));
    post({ type: 'done', bytes, files, pixels });
  } catch (err) {
    post({ type: 'error', message: (err as Error).message });
  }
}

try {
  const reader = await openReader(data.location, data.inFlight);
  const decode = data.decode ? await loadDecoder() : undefined;
  // The pool ends the thread with terminate(), which closes its sockets too.
  port.on('message', (m: ToReader) => void epoch(m.order, m.next, (rel) => reader.read(rel), decode));
  post({ type: 'ready' });
} catch (err) {
  post({ type: 'error', message: (err as Error).message });
}

/** Decodes an image (PNG to RGB, as the pipeline would before augmenting) and returns its pixel count. */
async function loadDecoder(): Promise<(buf: Buffer) => number> {
  const { decodeImage } = await import('../../datasets/images.js');
  return (buf) => {
    const img = decodeImage(buf);
    return img.width * img.height;
  };
}
