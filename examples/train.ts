/**
 * A TensorFlow.js training loop that reads its dataset from a folder on the Strata mount (TFRecord
 * shards or an ImageFolder of PNGs, as `strata bench dataset` writes them), trains the small CNN
 * for several epochs, prints each epoch's time and images/s (with reading and training time
 * apart, so the I/O is visible beside the compute), and writes a checkpoint per epoch to the mount.
 *
 *   node dist/examples/train.js --data_dir /mnt/strata/datasets/shapes-tfrecord --epochs 3 \
 *     --checkpoint_dir /mnt/strata/checkpoints/shapes
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mulberry32 } from '../src/datasets/random.js';
import { parseFlags, required, runMain, wholeNumber } from './lib/cli.js';
import { fileSaveHandler } from './lib/model-files.js';
import { buildModel, imageBatch, INPUT_SIDE, oneHot } from './lib/shapes-model.js';
import { tf } from './lib/tf.js';
import { openTrainingData, type LabelledImage } from './lib/training-data.js';

/** Up to `size` items from an iterator; fewer at its end. */
async function nextBatch<T>(it: AsyncIterator<T>, size: number): Promise<T[]> {
  const batch: T[] = [];
  while (batch.length < size) {
    const r = await it.next();
    if (r.done) break;
    batch.push(r.value);
  }
  return batch;
}

const seconds = (ms: number): string => (ms / 1000).toFixed(2);

runMain(async () => {
  const flags = parseFlags('node dist/examples/train.js --data_dir <dir> [flags]', {
    data_dir: { value: 'dir', help: 'dataset folder: *.tfrecord shards or class folders of PNGs' },
    epochs: { value: 'n', default: '3', help: 'passes over the dataset' },
    batch_size: { value: 'n', default: '16', help: 'images per training step' },
    checkpoint_dir: { value: 'dir', help: 'where each epoch writes epoch-NNN/{model.json,weights.bin} and "checkpoint"' },
    classes: { value: 'k', help: 'classes (default: read from the data)' },
    image_size: { value: 'px', default: String(INPUT_SIDE), help: 'side the images are resized to for the model' },
    seed: { value: 's', default: '1', help: 'seed of the initial weights and the read order' },
  });
  const dataDir = required(flags.data_dir, 'data_dir');
  const epochs = wholeNumber(flags.epochs, 'epochs', 1);
  const batchSize = wholeNumber(flags.batch_size, 'batch_size', 1);
  const side = wholeNumber(flags.image_size, 'image_size', 8);
  const seed = wholeNumber(flags.seed, 'seed');
  const data = await openTrainingData(dataDir, flags.classes === undefined ? undefined : wholeNumber(flags.classes, 'classes', 2));
  console.log(`Training on ${dataDir}: ${data.format}, ${data.files} files, ${data.classes} classes, batches of ${batchSize}, ${side}x${side} inputs`);

  const model = buildModel(data.classes, seed, side);
  const rng = mulberry32(seed);
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const started = Date.now();
    let readMs = 0;
    let trainMs = 0;
    let images = 0;
    let lossSum = 0;
    let correct = 0;
    const it = data.epoch(rng)[Symbol.asyncIterator]();
    for (;;) {
      const readStart = Date.now();
      const batch: LabelledImage[] = await nextBatch(it, batchSize);
      readMs += Date.now() - readStart;
      if (batch.length === 0) break;
      const trainStart = Date.now();
      const labels = batch.map((b) => b.label);
      if (labels.some((l) => l >= data.classes)) throw new Error(`Label ${Math.max(...labels)} is out of range for ${data.classes} classes: pass --classes`);
      const xs = imageBatch(batch.map((b) => b.image), side);
      const ys = oneHot(labels, data.classes);
      const [loss, acc] = (await model.trainOnBatch(xs, ys)) as number[];
      tf.dispose([xs, ys]);
      trainMs += Date.now() - trainStart;
      images += batch.length;
      lossSum += loss! * batch.length;
      correct += acc! * batch.length;
    }
    const elapsed = Date.now() - started;
    console.log(
      `epoch ${epoch}/${epochs}: ${images} images in ${seconds(elapsed)} s (${(images / (elapsed / 1000)).toFixed(1)} images/s), ` +
        `loss ${(lossSum / images).toFixed(3)}, accuracy ${(correct / images).toFixed(2)}; reading ${seconds(readMs)} s, training ${seconds(trainMs)} s`,
    );
    if (flags.checkpoint_dir) {
      const name = `epoch-${String(epoch).padStart(3, '0')}`;
      await model.save(fileSaveHandler(join(flags.checkpoint_dir, name)));
      // As TensorFlow's "checkpoint" file does: which checkpoint is the latest.
      await writeFile(join(flags.checkpoint_dir, 'checkpoint'), `${name}\n`);
      console.log(`saved checkpoint ${join(flags.checkpoint_dir, name)}`);
    }
  }
});
