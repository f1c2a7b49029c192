/**
 * A labelled image dataset read from a folder (a Strata FUSE mount in the examples), in either
 * layout the dataset generator writes: TFRecord shards of tf.train.Example records, read as
 * streams and CRC-checked, or an ImageFolder tree of PNGs (class-NN/*.png, under train/ or not),
 * read several files at once as a DataLoader's workers would. Each epoch visits shards (or
 * files) in a new order.
 */
import { createReadStream, existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeExample, featureValue } from '../../src/datasets/example-proto.js';
import { decodeImage, type RgbImage } from '../../src/datasets/images.js';
import { FEATURE } from '../../src/datasets/layout.js';
import { readRecords } from '../../src/datasets/tfrecord.js';
import { UsageError } from './cli.js';

export interface LabelledImage {
  image: RgbImage;
  label: number;
}

export interface TrainingData {
  format: 'tfrecord' | 'imagefolder';
  files: number;
  classes: number;
  /** One pass over every image, in an order drawn from `rng`. */
  epoch(rng: () => number): AsyncGenerator<LabelledImage>;
}

/** Files of an ImageFolder read at once: enough to keep a mount busy, few enough to be polite. */
const PARALLEL_FILE_READS = 8;
/** Read size of shard streams: large reads are what make a FUSE mount fast. */
const SHARD_READ_BYTES = 1 << 20;

function shuffled<T>(items: readonly T[], rng: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

async function* shardRecords(path: string): AsyncGenerator<{ label: number; encoded: Buffer }> {
  for await (const record of readRecords(createReadStream(path, { highWaterMark: SHARD_READ_BYTES }), { name: path })) {
    const example = decodeExample(record);
    yield { label: featureValue(example, FEATURE.label, 'int64'), encoded: featureValue(example, FEATURE.encoded, 'bytes') };
  }
}

/** Results of fn over items, in order, with up to `concurrency` calls running ahead. */
async function* mapOrdered<T, R>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<R>): AsyncGenerator<R> {
  const pending: Array<Promise<R>> = [];
  let next = 0;
  const start = () => {
    const p = fn(items[next++]!);
    p.catch(() => undefined); // awaited in turn below; this keeps an early failure from going unhandled
    pending.push(p);
  };
  while (next < items.length && pending.length < concurrency) start();
  while (pending.length) {
    const result = await pending.shift()!;
    if (next < items.length) start();
    yield result;
  }
}

async function openTfRecords(dir: string, shards: string[], classesGiven: number | undefined): Promise<TrainingData> {
  const paths = shards.map((s) => join(dir, s));
  let classes = classesGiven;
  if (classes === undefined) {
    // Labels are 0..k-1: the first shard tells k when it holds every class (pass --classes when not).
    let max = -1;
    for await (const r of shardRecords(paths[0]!)) max = Math.max(max, r.label);
    classes = max + 1;
  }
  return {
    format: 'tfrecord',
    files: paths.length,
    classes,
    async *epoch(rng) {
      for (const path of shuffled(paths, rng)) {
        for await (const r of shardRecords(path)) yield { label: r.label, image: decodeImage(r.encoded) };
      }
    },
  };
}

async function openImageFolder(dir: string): Promise<TrainingData> {
  const root = existsSync(join(dir, 'train')) ? join(dir, 'train') : dir;
  const classDirs = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const files: Array<{ path: string; label: number }> = [];
  for (const [label, name] of classDirs.entries()) {
    for (const f of (await readdir(join(root, name))).sort()) if (f.endsWith('.png')) files.push({ path: join(root, name, f), label });
  }
  if (files.length === 0) throw new UsageError(`${dir} holds no .tfrecord shards and no class folders of .png images`);
  return {
    format: 'imagefolder',
    files: files.length,
    classes: classDirs.length,
    epoch: (rng) => mapOrdered(shuffled(files, rng), PARALLEL_FILE_READS, async (f) => ({ label: f.label, image: decodeImage(await readFile(f.path)) })),
  };
}

export async function openTrainingData(dir: string, classes?: number): Promise<TrainingData> {
  if (!existsSync(dir)) throw new UsageError(`--data_dir ${dir} does not exist`);
  const shards = (await readdir(dir)).filter((f) => f.endsWith('.tfrecord')).sort();
  return shards.length ? openTfRecords(dir, shards, classes) : openImageFolder(dir);
}
