/**
 * Image recognition from a model kept in Strata, as TensorFlow's classify_image.py does it: the
 * model archive sits in --model_dir (a folder on the Strata FUSE mount); the program extracts it
 * there, through the mount, loads the model from the extracted files, and prints the top
 * predictions for each image:
 *
 *   node dist/examples/classify.js --model_dir /mnt/strata/models
 *   class-02, triangle on green (score = 0.99731)
 *   ...
 *
 * Without --image_file it classifies the images bundled in examples/data/.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeImage } from '../src/datasets/images.js';
import { extractModelArchive } from '../src/datasets/model-archive.js';
import { parseFlags, required, runMain, UsageError, wholeNumber } from './lib/cli.js';
import { fileLoadHandler } from './lib/model-files.js';
import { imageBatch, inputSideOf } from './lib/shapes-model.js';
import { tf } from './lib/tf.js';

export const BUNDLED_IMAGES = fileURLToPath(new URL('../../examples/data/', import.meta.url));
const DEFAULT_ARCHIVE = 'strata-shapes.tgz';

/** The archive to extract: --model_archive, else strata-shapes.tgz or the only .tgz in the folder; none if the model is already there. */
async function findArchive(modelDir: string, given: string | undefined): Promise<string | undefined> {
  if (given) return given.includes('/') ? given : join(modelDir, given);
  if (existsSync(join(modelDir, DEFAULT_ARCHIVE))) return join(modelDir, DEFAULT_ARCHIVE);
  const archives = (await readdir(modelDir)).filter((f) => f.endsWith('.tgz'));
  if (archives.length === 1) return join(modelDir, archives[0]!);
  if (archives.length > 1) throw new UsageError(`${modelDir} holds several archives (${archives.join(', ')}): choose one with --model_archive`);
  if (existsSync(join(modelDir, 'model.json'))) return undefined;
  throw new UsageError(`${modelDir} holds no model archive (.tgz) and no model.json: copy ${DEFAULT_ARCHIVE} there first (node dist/examples/make-model.js makes it)`);
}

async function readLabels(modelDir: string, classes: number): Promise<string[]> {
  const file = join(modelDir, 'labels.txt');
  const lines = existsSync(file) ? (await readFile(file, 'utf8')).split('\n').filter(Boolean) : [];
  return Array.from({ length: classes }, (_, c) => lines[c] ?? `class ${c}`);
}

/** A path relative to the working folder when it lies below it: shorter output that reads the same anywhere. */
function shortPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
}

runMain(async () => {
  const flags = parseFlags('node dist/examples/classify.js --model_dir <dir> [flags]', {
    model_dir: { value: 'dir', help: 'folder holding the model archive (on the Strata mount); it is extracted there' },
    model_archive: { value: 'file', help: `archive to extract (default: ${DEFAULT_ARCHIVE} or the only .tgz in --model_dir)` },
    image_file: { value: 'file.png', help: 'image to classify (default: the bundled examples/data/*.png)' },
    num_top_predictions: { value: 'n', default: '5', help: 'predictions to print per image' },
  });
  const modelDir = required(flags.model_dir, 'model_dir');
  const top = wholeNumber(flags.num_top_predictions, 'num_top_predictions', 1);
  if (!existsSync(modelDir)) throw new UsageError(`--model_dir ${modelDir} does not exist`);

  const archive = await findArchive(modelDir, flags.model_archive);
  if (archive) {
    const files = await extractModelArchive(archive, modelDir);
    process.stderr.write(`Extracted ${basename(archive)} into ${modelDir}: ${files.join(', ')}\n`);
  }
  const model = await tf.loadLayersModel(fileLoadHandler(modelDir));
  const side = inputSideOf(model);
  const classes = model.outputs[0]!.shape[1]!;
  const labels = await readLabels(modelDir, classes);

  const images = flags.image_file ? [flags.image_file] : (await readdir(BUNDLED_IMAGES)).filter((f) => f.endsWith('.png')).sort().map((f) => join(BUNDLED_IMAGES, f));
  for (const file of images) {
    const image = decodeImage(await readFile(file));
    const scores = tf.tidy(() => (model.predict(imageBatch([image], side)) as tf.Tensor2D).squeeze());
    const { values, indices } = tf.topk(scores, Math.min(top, classes));
    const [v, i] = [await values.data(), await indices.data()];
    tf.dispose([scores, values, indices]);
    if (images.length > 1) console.log(`${shortPath(file)}:`);
    for (let k = 0; k < v.length; k++) console.log(`${labels[i[k]!]} (score = ${v[k]!.toFixed(5)})`);
  }
});
