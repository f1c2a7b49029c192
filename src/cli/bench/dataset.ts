/**
 * strata bench dataset: writes a synthetic labelled image dataset (PNG files in ImageFolder
 * layout, or TFRecord shards) of a chosen count, file size and class count into a local folder
 * or an S3 bucket, so benchmarks and examples have data without downloading any.
 */
import type { Command } from 'commander';
import { requireSize } from '../../common/config/units.js';
import { StrataError } from '../../common/errors.js';
import { parseS3Options, parseS3Uri } from '../../ufs/s3-options.js';
import type { DatasetFormat, DatasetSink, DatasetSpec } from '../../datasets/generate.js';
import type { CliContext } from '../context.js';
import { formatBytes } from '../format.js';
import { collect, parseKeyValues, parseWholeNumber } from '../options.js';
import { progressBar } from '../progress.js';

interface DatasetFlags {
  out: string;
  count: string;
  size: string;
  classes: string;
  format: string;
  shards?: string;
  seed: string;
  option: string[];
}

const FORMATS: DatasetFormat[] = ['imagefolder', 'tfrecord'];

/** The generator's code (PNG encoding), loaded for this command alone. */
const generator = () => import('../../datasets/generate.js');

async function specFrom(o: DatasetFlags): Promise<DatasetSpec> {
  if (!FORMATS.includes(o.format as DatasetFormat)) throw new StrataError('INVALID_ARGUMENT', `--format: "${o.format}" is not one of ${FORMATS.join(', ')}`);
  const spec: DatasetSpec = {
    format: o.format as DatasetFormat,
    count: parseWholeNumber(o.count, '--count', 1),
    imageBytes: requireSize(o.size, '--size'),
    classes: parseWholeNumber(o.classes, '--classes', 1),
    shards: o.shards === undefined ? undefined : parseWholeNumber(o.shards, '--shards', 1),
    seed: parseWholeNumber(o.seed, '--seed'),
  };
  const { checkSpec } = await generator();
  try {
    checkSpec(spec);
  } catch (err) {
    throw new StrataError('INVALID_ARGUMENT', (err as Error).message);
  }
  return spec;
}

/** A local folder (plain path or file://) or s3://bucket/prefix with --option credentials and endpoint. */
async function sinkFor(out: string, optionPairs: string[]): Promise<DatasetSink> {
  const { localSink, s3Sink } = await generator();
  const options = parseKeyValues(optionPairs, '--option');
  if (/^s3a?:\/\//i.test(out)) {
    const { bucket, key } = parseS3Uri(out);
    parseS3Options(options); // refuses an unknown or malformed option before anything is generated
    return s3Sink({ bucket, prefix: key, options });
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(out) && !out.startsWith('file://')) {
    throw new StrataError('INVALID_ARGUMENT', `--out ${out}: give a local folder or an s3://bucket/prefix address`);
  }
  if (optionPairs.length) throw new StrataError('INVALID_ARGUMENT', '--option applies to s3:// outputs only');
  return localSink(out.replace(/^file:\/\//, ''));
}

export function registerDatasetCommand(bench: Command, ctx: () => CliContext): void {
  bench
    .command('dataset')
    .description('Generate a labelled image dataset (ImageFolder PNGs or TFRecord shards) into a local folder or an S3 bucket')
    .requiredOption('--out <target>', 'a local folder or s3://bucket/prefix')
    .option('--count <n>', 'number of images', '1000')
    .option('--size <bytes>', 'size of one encoded image, e.g. 100KB', '100KB')
    .option('--classes <k>', 'number of classes', '10')
    .option('--format <format>', 'imagefolder (train/class-NN/NNNNN.png) or tfrecord (train-NNNNN-of-NNNNN.tfrecord)', 'imagefolder')
    .option('--shards <n>', 'TFRecord shards (default: one per 128 MiB)')
    .option('--seed <s>', 'seed: the same seed gives the same bytes', '1')
    .option('--option <key=value>', 'an S3 option as fs mount takes it: s3.endpoint=, aws.accessKeyID=, aws.secretKey=, s3.path.style=true (repeatable)', collect, [])
    .action(async (o: DatasetFlags) => {
      const c = ctx();
      const spec = await specFrom(o);
      const sink = await sinkFor(o.out, o.option);
      const { generateDataset } = await generator();
      const bar = progressBar(spec.count, 'Generating', 'images');
      const started = Date.now();
      let result: { files: string[]; bytes: number };
      try {
        result = await generateDataset(spec, sink, () => bar.tick(1));
      } finally {
        bar.stop();
      }
      const seconds = (Date.now() - started) / 1000;
      c.out(
        `Wrote ${spec.count} images (${spec.classes} classes, ${spec.format}) in ${result.files.length} files, ` +
          `${formatBytes(result.bytes)} (${formatBytes(Math.round(result.bytes / spec.count))} per image), to ${sink.location} in ${seconds.toFixed(1)} s`,
      );
    });
}
