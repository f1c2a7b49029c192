/**
 * The small CNN the examples train and classify with, and how an image becomes its input. Sized
 * for TensorFlow.js' pure-JavaScript backend, which trains convolutions at tens to a few hundred
 * images a second: 16x16 inputs, a strided first convolution, global average pooling, no big
 * dense layer. The model takes raw 0-255 pixels (it rescales them itself), so whoever loads it
 * needs to know only its input size, which model.json records.
 */
import type { RgbImage } from '../../src/datasets/images.js';
import { tf } from './tf.js';

export const INPUT_SIDE = 16;

/** Layers' initial weights come from `seed`, so the same data trains the same model. */
export function buildModel(classes: number, seed: number, inputSide = INPUT_SIDE): tf.Sequential {
  const init = (n: number) => tf.initializers.glorotUniform({ seed: seed + n });
  const model = tf.sequential({
    layers: [
      tf.layers.rescaling({ inputShape: [inputSide, inputSide, 3], scale: 1 / 127.5, offset: -1 }),
      tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init(1) }),
      tf.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', kernelInitializer: init(2) }),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: init(3) }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.02), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

/** The side length a loaded model expects, from its input shape [batch, side, side, 3]. */
export function inputSideOf(model: tf.LayersModel): number {
  const shape = model.inputs[0]!.shape;
  if (shape.length !== 4 || shape[1] !== shape[2] || shape[3] !== 3) throw new Error(`Model input ${JSON.stringify(shape)} is not [batch, side, side, 3]`);
  return shape[1]!;
}

/** Images resized (bilinear) to side x side, as one float batch of raw 0-255 pixels. */
export function imageBatch(images: RgbImage[], side: number): tf.Tensor4D {
  return tf.tidy(() =>
    tf.stack(images.map((img) => tf.image.resizeBilinear(tf.tensor3d(img.data, [img.height, img.width, 3], 'int32').toFloat(), [side, side]))) as tf.Tensor4D,
  );
}

export function oneHot(labels: number[], classes: number): tf.Tensor2D {
  return tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), classes).toFloat() as tf.Tensor2D);
}
