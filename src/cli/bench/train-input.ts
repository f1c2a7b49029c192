/**
 * strata bench train-input: reads a dataset the way a training input pipeline does (a shuffled
 * order each epoch, P parallel readers, optional decode) from local disk, from the bucket with
 * the plain SDK, and through Strata's FUSE mount (epoch 1 cold, later epochs cached), on an S3
 * server, proxy and cluster it starts for the run; checks that MUST_CACHE intermediate files stay
 * out of the bucket; prints a table and writes it as JSON and markdown.
 * --conf key=value pairs go to the cluster it starts, so a property can be tried out here.
 */
import { accessSync, constants, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { parseAssignments } from '../../common/config/configuration.js';
import { requireSize } from '../../common/config/units.js';
import { StrataError } from '../../common/errors.js';
import { resultsPath } from '../../bench/report.js';
import { parseSlowUfs } from '../../bench/slow-ufs.js';
import { DEFAULTS, FUSE_WHERE, type FuseWhere, type TrainInputOptions } from '../../bench/train-input/options.js';
import type { CliContext } from '../context.js';
import { parseWholeNumber } from '../options.js';
import { progressBar } from '../progress.js';

interface TrainInputFlags {
  count: string;
  size: string;
  classes: string;
  readers: string;
  epochs: string;
  warmUp: string;
  decode?: boolean;
  slowUfs?: string;
  seed: string;
  json?: string;
  markdown?: string;
  localDir?: string;
  fuse: string;
}

const MAX_READERS = 256;

async function optionsFrom(o: TrainInputFlags, confArgs: readonly string[]): Promise<TrainInputOptions> {
  const readers = parseWholeNumber(o.readers, '--readers', 1);
  if (readers > MAX_READERS) throw new StrataError('INVALID_ARGUMENT', `--readers: ${readers} is more than ${MAX_READERS} reader threads`);
  const localParent = resolve(o.localDir ?? tmpdir());
  let isFolder = false;
  try {
    isFolder = statSync(localParent).isDirectory();
  } catch {
    // reported below
  }
  if (!isFolder) throw new StrataError('INVALID_ARGUMENT', `--local-dir: ${localParent} is not an existing folder`);
  const opts: TrainInputOptions = {
    count: parseWholeNumber(o.count, '--count', 1),
    imageBytes: requireSize(o.size, '--size'),
    classes: parseWholeNumber(o.classes, '--classes', 1),
    readers,
    epochs: parseWholeNumber(o.epochs, '--epochs', 1),
    warmUp: parseWholeNumber(o.warmUp, '--warm-up'),
    decode: !!o.decode,
    slowUfs: o.slowUfs === undefined ? undefined : parseSlowUfs(o.slowUfs),
    seed: parseWholeNumber(o.seed, '--seed'),
    localParent,
    fuse: parseFuseWhere(o.fuse),
    clusterConf: Object.fromEntries(parseAssignments(confArgs)),
  };
  const { checkSpec } = await import('../../datasets/generate.js');
  try {
    checkSpec({ format: 'imagefolder', count: opts.count, imageBytes: opts.imageBytes, classes: opts.classes, seed: opts.seed });
  } catch (err) {
    throw new StrataError('INVALID_ARGUMENT', (err as Error).message);
  }
  return opts;
}

function parseFuseWhere(value: string): FuseWhere {
  const where = FUSE_WHERE.find((w) => w === value);
  if (!where) throw new StrataError('INVALID_ARGUMENT', `--fuse: "${value}" is not one of ${FUSE_WHERE.join(', ')}`);
  return where;
}

/** Checks an output file's folder now, so that a bad path fails before a long run, not after. */
function outputPath(path: string | undefined, flag: string): string | undefined {
  if (path === undefined) return undefined;
  const file = resolve(path);
  // Not mkdir -p: Node's recursive mkdir never returns under /proc.
  try {
    accessSync(dirname(file), constants.W_OK);
  } catch (err) {
    throw new StrataError('INVALID_ARGUMENT', `${flag}: cannot write ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? `no folder ${dirname(file)}` : (err as Error).message}`);
  }
  return file;
}

export function registerTrainInputCommand(bench: Command, ctx: () => CliContext): void {
  bench
    .command('train-input')
    .description('Read a dataset as a training input pipeline does: local disk, the plain S3 SDK, and the Strata mount cold and cached')
    .option('--count <n>', 'images in the dataset', String(DEFAULTS.count))
    .option('--size <bytes>', 'size of one image file, e.g. 100KB', `${DEFAULTS.imageBytes / 1024}KB`)
    .option('--classes <k>', 'classes (folders) of the dataset', String(DEFAULTS.classes))
    .option('--readers <p>', 'parallel readers (DataLoader num_workers)', String(DEFAULTS.readers))
    .option('--epochs <n>', 'epochs per mode: epoch 1 is the cold one through the mount', String(DEFAULTS.epochs))
    .option('--warm-up <n>', 'files of another folder read once through every mode before epoch 1, untimed, as a cluster that has served jobs is warm; 0 measures a freshly started cluster', String(DEFAULTS.warmUp))
    .option('--decode', 'decode each image (PNG) after reading it')
    .option('--slow-ufs <spec>', 'a throttling proxy in front of the S3 server, e.g. latency=20ms,bandwidth=100MB/s')
    .option('--fuse <where>', `where the FUSE mount runs: worker (inside the worker's process, strata.worker.fuse.enabled) or daemon (strata fuse mount)`, DEFAULTS.fuse)
    .option('--seed <s>', 'seed of the dataset and of the shuffles', String(DEFAULTS.seed))
    .option('--json <path>', 'results file (default bench/results/train-input-<date>.json)')
    .option('--markdown <path>', 'the table as markdown (default: the JSON file\'s path with .md)')
    .option('--local-dir <folder>', 'where the local-disk copy of the dataset goes (default: the temporary folder)')
    .action(async (o: TrainInputFlags) => {
      const c = ctx();
      const opts = await optionsFrom(o, c.confArgs);
      const json = outputPath(o.json, '--json');
      const markdown = outputPath(o.markdown, '--markdown');
      // The benchmark's code (the S3 SDK, the servers it starts) loads for this command alone.
      const [{ runTrainInput }, { markdownTable, textTable }] = await Promise.all([import('../../bench/train-input/run.js'), import('../../bench/train-input/table.js')]);
      const bar = progressBar(opts.count, 'Generating', 'images');
      let results;
      try {
        results = await runTrainInput(opts, { log: (line) => c.err(line), datasetProgress: () => bar.tick(1) });
      } finally {
        bar.stop();
      }
      c.out(`\n${textTable(results)}`);
      const jsonFile = json ?? resultsPath('train-input');
      const markdownFile = markdown ?? jsonFile.replace(/(\.json)?$/, '.md');
      writeFileSync(jsonFile, JSON.stringify(results, null, 2));
      writeFileSync(markdownFile, markdownTable(results));
      c.out(`\nresults: ${jsonFile}\nmarkdown: ${markdownFile}`);
      if (!results.mustCache.passed) {
        c.err(`MUST_CACHE check failed: ${results.mustCache.detail}`);
        process.exitCode = 1;
      }
    });
}
