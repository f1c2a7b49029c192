/** What one run of the training-input benchmark does; the CLI and bench/train-input.ts fill it. */
import type { SlowUfs } from '../slow-ufs.js';

export interface TrainInputOptions {
  /** Images in the dataset (ImageFolder PNG files). */
  count: number;
  /** Bytes of one image file. */
  imageBytes: number;
  classes: number;
  /** Parallel readers (DataLoader num_workers, tf.data num_parallel_calls). */
  readers: number;
  epochs: number;
  /**
   * Files of another folder read once through every mode before epoch 1, untimed: a cluster that
   * has served jobs has its code compiled (JIT) and warm, as a freshly started one has not. 0
   * measures a fresh cluster.
   */
  warmUp: number;
  /** Decode each image (PNG) after reading it, as the input pipeline would. */
  decode: boolean;
  /** A throttling proxy in front of the S3 server, for the mount and the SDK alike. */
  slowUfs?: SlowUfs;
  /** Seeds the dataset's bytes and each epoch's shuffle. */
  seed: number;
  /** Folder under which the local-disk copy of the dataset is made (and removed). */
  localParent: string;
  /**
   * Where the FUSE mount runs: inside the worker's process (strata.worker.fuse.enabled, for a
   * job on a worker's machine) or as a daemon of its own (`strata fuse mount`).
   */
  fuse: FuseWhere;
  /** Extra properties for the Strata cluster (its site file), from --conf. */
  clusterConf: Record<string, string>;
}

export const FUSE_WHERE = ['worker', 'daemon'] as const;
export type FuseWhere = (typeof FUSE_WHERE)[number];

export const DEFAULTS = {
  count: 2000,
  imageBytes: 100 * 1024,
  classes: 10,
  readers: 8,
  epochs: 3,
  warmUp: 2000,
  seed: 1,
  fuse: 'worker',
} as const;
