/**
 * The order an epoch reads files in: a fresh shuffle each epoch, as DataLoader(shuffle=True) and
 * tf.data's shuffle(reshuffle_each_iteration=True) make, seeded so that every mode reads the
 * same order in the same epoch and a rerun reads the same orders again.
 */
import { itemSeed, mulberry32 } from '../../datasets/random.js';

export function epochOrder(count: number, seed: number, epoch: number): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  const rng = mulberry32(itemSeed(seed, epoch));
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}
