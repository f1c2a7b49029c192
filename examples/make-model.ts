/**
 * Makes the model the classify example uses: trains the small CNN on synthetic shapes (one class
 * per colour and shape, see src/datasets/images.ts) for a few seconds and writes it as a
 * TensorFlow.js model archive, strata-shapes.tgz: model.json, weights.bin and labels.txt (one
 * "class-NN, description" line per class), as TensorFlow's image examples ship their models.
 *
 *   node dist/examples/make-model.js --out strata-shapes.tgz
 */
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describeClass, syntheticImage } from '../src/datasets/images.js';
import { className } from '../src/datasets/layout.js';
import { packModelArchive } from '../src/datasets/model-archive.js';
import { itemSeed, mulberry32 } from '../src/datasets/random.js';
import { parseFlags, runMain, UsageError, wholeNumber } from './lib/cli.js';
import { fileSaveHandler } from './lib/model-files.js';
import { buildModel, imageBatch, INPUT_SIDE, oneHot } from './lib/shapes-model.js';
import { tf } from './lib/tf.js';

/** Training images are drawn larger than the model's input and resized, as classify does with any image. */
const SOURCE_SIDE = 32;
const VALIDATION_IMAGES = 60;
/** Below this the model is not worth shipping: something is wrong with the data or the training. */
const MIN_ACCURACY = 0.8;

function syntheticSet(count: number, classes: number, seed: number): { xs: tf.Tensor4D; ys: tf.Tensor2D } {
  const labels = Array.from({ length: count }, (_, i) => i % classes);
  const images = labels.map((label, i) => syntheticImage(label, classes, SOURCE_SIDE, mulberry32(itemSeed(seed, i))));
  return { xs: imageBatch(images, INPUT_SIDE), ys: oneHot(labels, classes) };
}

runMain(async () => {
  const flags = parseFlags('node dist/examples/make-model.js [flags]', {
    out: { value: 'file.tgz', default: 'strata-shapes.tgz', help: 'model archive to write' },
    classes: { value: 'k', default: '6', help: 'classes (at least 2)' },
    samples: { value: 'n', default: '300', help: 'training images' },
    epochs: { value: 'n', default: '4', help: 'passes over them' },
    seed: { value: 's', default: '1', help: 'seed of the data and the initial weights' },
  });
  const classes = wholeNumber(flags.classes, 'classes', 2);
  const samples = wholeNumber(flags.samples, 'samples', classes);
  const epochs = wholeNumber(flags.epochs, 'epochs', 1);
  const seed = wholeNumber(flags.seed, 'seed');
  const out = flags.out!;
  if (!out.endsWith('.tgz')) throw new UsageError(`--out ${out}: a model archive is a .tgz file`);

  const train = syntheticSet(samples, classes, seed);
  const validation = syntheticSet(VALIDATION_IMAGES, classes, seed + 1_000_003);
  const model = buildModel(classes, seed);
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const started = Date.now();
    // Round-robin labels already mix the classes; no shuffle keeps the result the same run to run.
    const h = await model.fit(train.xs, train.ys, { epochs: 1, batchSize: 16, shuffle: false, verbose: 0 });
    const loss = h.history.loss![0] as number;
    const acc = h.history.acc![0] as number;
    console.log(`epoch ${epoch}/${epochs}: loss ${loss.toFixed(3)}, accuracy ${acc.toFixed(2)} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
  const [, accTensor] = model.evaluate(validation.xs, validation.ys) as tf.Scalar[];
  const accuracy = (await accTensor!.data())[0]!;
  console.log(`validation accuracy ${accuracy.toFixed(2)} on ${VALIDATION_IMAGES} new images`);
  if (accuracy < MIN_ACCURACY) throw new Error(`The model did not learn the shapes (validation accuracy ${accuracy.toFixed(2)} < ${MIN_ACCURACY}); try more --samples or --epochs`);

  const dir = await mkdtemp(join(tmpdir(), 'strata-model-'));
  try {
    await model.save(fileSaveHandler(dir));
    const labels = Array.from({ length: classes }, (_, c) => `${className(c, classes)}, ${describeClass(c, classes)}`);
    await writeFile(join(dir, 'labels.txt'), labels.join('\n') + '\n');
    await mkdir(dirname(out), { recursive: true });
    const files = await packModelArchive(dir, out);
    console.log(`Wrote ${out} (${(await stat(out)).size} bytes: ${files.join(', ')}): ${classes} classes, ${INPUT_SIDE}x${INPUT_SIDE}x3 input`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
