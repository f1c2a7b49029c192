/**
 * TensorFlow.js as the examples use it: the pure-JavaScript CPU backend (no native library to
 * download), in production mode, which also keeps tfjs from advising a native backend on every run.
 */
import * as tf from '@tensorflow/tfjs';

tf.enableProdMode();

export { tf };
