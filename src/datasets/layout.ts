/**
 * The names a generated dataset uses, shared by the generator and the programs that read it:
 * ImageFolder's train/<class>/<index>.png and TFRecord's train-NNNNN-of-NNNNN.tfrecord shards
 * holding tf.train.Example records with TensorFlow's image feature keys.
 */

/** class-00, class-01, ... (wider when there are more than 100 classes), sorting in class order. */
export function className(classIndex: number, classes: number): string {
  return `class-${String(classIndex).padStart(Math.max(2, String(classes - 1).length), '0')}`;
}

export function imagePath(index: number, classIndex: number, count: number, classes: number): string {
  return `train/${className(classIndex, classes)}/${String(index).padStart(Math.max(5, String(count - 1).length), '0')}.png`;
}

export function shardName(shard: number, shards: number): string {
  const width = Math.max(5, String(shards).length);
  return `train-${String(shard).padStart(width, '0')}-of-${String(shards).padStart(width, '0')}.tfrecord`;
}

export const SHARD_PATTERN = /^train-\d+-of-\d+\.tfrecord$/;

/** Feature keys of an image Example, as TensorFlow's image datasets name them. */
export const FEATURE = {
  encoded: 'image/encoded',
  format: 'image/format',
  label: 'image/class/label',
  width: 'image/width',
  height: 'image/height',
} as const;
