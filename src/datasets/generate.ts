/**
 * Generates a labelled image dataset of a chosen number of files, file size and class count into
 * a local folder or an S3 bucket, so that examples, tests and benchmarks need nothing from
 * outside. The same spec and seed give the same bytes, whatever the sink.
 */
import { bytesFeature, encodeExample, int64Feature } from './example-proto.js';
import { sideForBytes } from './image-size.js';
import { encodePng, syntheticImage } from './images.js';
import { FEATURE, imagePath, shardName } from './layout.js';
import { BoundedPool } from './pool.js';
import { itemSeed, mulberry32 } from './random.js';
import { encodeRecord } from './tfrecord.js';
import type { DatasetSink } from './sinks.js';

export { localSink, s3Sink, type DatasetSink, type S3SinkOptions } from './sinks.js';

export type DatasetFormat = 'imagefolder' | 'tfrecord';

export interface DatasetSpec {
  format: DatasetFormat;
  /** Images (imagefolder: files; tfrecord: records). */
  count: number;
  /** Target size of one encoded image in bytes; files land within a few percent of it. */
  imageBytes: number;
  classes: number;
  /** TFRecord shards (default: one per ~128 MiB). */
  shards?: number;
  seed?: number;
}

export const MIN_IMAGE_BYTES = 512;
/** Puts in flight at once: enough to hide S3 latency, few enough to bound memory. */
const PUT_CONCURRENCY = 16;
const DEFAULT_SHARD_BYTES = 128 * 2 ** 20;

/** Throws a RangeError naming the first bad field. */
export function checkSpec(spec: DatasetSpec): void {
  const whole = (v: number | undefined, min: number, what: string) => {
    if (v !== undefined && (!Number.isInteger(v) || v < min)) throw new RangeError(`${what} must be a whole number of at least ${min}, not ${v}`);
  };
  if (spec.format !== 'imagefolder' && spec.format !== 'tfrecord') throw new RangeError(`format must be imagefolder or tfrecord, not ${String(spec.format)}`);
  whole(spec.count, 1, 'count');
  whole(spec.classes, 1, 'classes');
  whole(spec.imageBytes, MIN_IMAGE_BYTES, 'image size in bytes');
  whole(spec.shards, 1, 'shards');
  whole(spec.seed, 0, 'seed');
  if (spec.classes > spec.count) throw new RangeError(`classes (${spec.classes}) must not exceed count (${spec.count}): every class needs an image`);
  if (spec.shards !== undefined && spec.format !== 'tfrecord') throw new RangeError('shards apply to the tfrecord format only');
  if (spec.shards !== undefined && spec.shards > spec.count) throw new RangeError(`shards (${spec.shards}) must not exceed count (${spec.count})`);
}

export function shardCount(spec: DatasetSpec): number {
  return spec.shards ?? Math.max(1, Math.min(spec.count, Math.ceil((spec.count * spec.imageBytes) / DEFAULT_SHARD_BYTES)));
}

/** Image `index` of the dataset: its class (round-robin, so classes are balanced) and its PNG. */
export function datasetImage(spec: DatasetSpec, index: number): { label: number; png: Buffer; side: number } {
  const label = index % spec.classes;
  const side = sideForBytes(spec.imageBytes);
  const png = encodePng(syntheticImage(label, spec.classes, side, mulberry32(itemSeed(spec.seed ?? 1, index))));
  return { label, png, side };
}

/**
 * Writes the dataset and closes the sink (also on failure). imagefolder: train/class-NN/NNNNN.png;
 * tfrecord: train-NNNNN-of-NNNNN.tfrecord shards of tf.train.Example records (image/encoded,
 * image/format, image/class/label, image/width, image/height), images split evenly over shards.
 */
export async function generateDataset(spec: DatasetSpec, sink: DatasetSink, onProgress?: (done: number, total: number) => void): Promise<{ files: string[]; bytes: number }> {
  checkSpec(spec);
  const pool = new BoundedPool(PUT_CONCURRENCY);
  const files: string[] = [];
  let bytes = 0;
  const put = (relPath: string, data: Buffer) => {
    files.push(relPath);
    bytes += data.length;
    return pool.add(() => sink.put(relPath, data));
  };
  try {
    if (spec.format === 'imagefolder') {
      for (let i = 0; i < spec.count; i++) {
        const { label, png } = datasetImage(spec, i);
        await put(imagePath(i, label, spec.count, spec.classes), png);
        onProgress?.(i + 1, spec.count);
      }
    } else {
      const shards = shardCount(spec);
      for (let s = 0; s < shards; s++) {
        const records: Buffer[] = [];
        const [from, to] = [Math.floor((s * spec.count) / shards), Math.floor(((s + 1) * spec.count) / shards)];
        for (let i = from; i < to; i++) {
          const { label, png, side } = datasetImage(spec, i);
          const example = encodeExample({
            [FEATURE.encoded]: bytesFeature(png),
            [FEATURE.format]: bytesFeature(Buffer.from('png')),
            [FEATURE.label]: int64Feature(label),
            [FEATURE.width]: int64Feature(side),
            [FEATURE.height]: int64Feature(side),
          });
          records.push(encodeRecord(example));
          onProgress?.(i + 1, spec.count);
        }
        await put(shardName(s, shards), Buffer.concat(records));
      }
    }
    await pool.drain();
  } finally {
    await pool.drain().catch(() => undefined); // no put may outlive the sink
    await sink.close?.();
  }
  return { files, bytes };
}
