/**
 * Synthetic labelled images for examples and benchmarks, and PNG encoding and decoding (pngjs,
 * pure JavaScript). Each class has its own colour, stripe angle and shape, so a tiny CNN learns
 * them in seconds; per-pixel noise makes the files as incompressible as photographs, so their
 * size (and what reading them costs) is set by their side length (see image-size.ts).
 */
import { PNG } from 'pngjs';

export interface RgbImage {
  width: number;
  height: number;
  /** width * height * 3 bytes, row-major RGB. */
  data: Uint8Array;
}

export interface SyntheticOptions {
  /** Amplitude of uniform per-pixel noise, 0-127 (default 24). */
  noise?: number;
}

export const DEFAULT_NOISE = 24;

/** HSV (all in [0, 1]) to RGB in [0, 255]. */
function hsv(h: number, s: number, v: number): [number, number, number] {
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  const rgb = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ][((i % 6) + 6) % 6]!;
  return [rgb[0]! * 255, rgb[1]! * 255, rgb[2]! * 255];
}

type Shape = (dx: number, dy: number, r: number) => boolean;
const SHAPES: Shape[] = [
  (dx, dy, r) => dx * dx + dy * dy <= r * r, // disc
  (dx, dy, r) => Math.abs(dx) <= r * 0.8 && Math.abs(dy) <= r * 0.8, // square
  (dx, dy, r) => dy <= r * 0.7 && dy >= -r && Math.abs(dx) <= (dy + r) * 0.6, // triangle
  (dx, dy, r) => (Math.abs(dx) <= r * 0.3 && Math.abs(dy) <= r) || (Math.abs(dy) <= r * 0.3 && Math.abs(dx) <= r), // cross
];

/**
 * An image of class `classIndex` (of `classes`), `size` pixels square. What varies from image to
 * image (shape position and scale, stripe phase, brightness, noise) comes from `rng`.
 */
export function syntheticImage(classIndex: number, classes: number, size: number, rng: () => number, opts: SyntheticOptions = {}): RgbImage {
  if (!Number.isInteger(classIndex) || classIndex < 0 || classIndex >= classes) throw new RangeError(`class ${classIndex} is not in 0..${classes - 1}`);
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`image side ${size} is not a positive whole number`);
  const noise = opts.noise ?? DEFAULT_NOISE;
  const hue = classIndex / classes;
  const [br, bg, bb] = hsv(hue, 0.6, 0.7 + 0.15 * rng());
  const [fr, fg, fb] = hsv((hue + 0.5) % 1, 0.8, 0.95);
  const angle = (Math.PI * classIndex) / classes + (rng() - 0.5) * 0.2;
  const ax = Math.cos(angle);
  const ay = Math.sin(angle);
  const period = size / (3 + (classIndex % 3));
  const phase = rng() * 2 * Math.PI;
  const shape = SHAPES[classIndex % SHAPES.length]!;
  const cx = size * (0.3 + 0.4 * rng());
  const cy = size * (0.3 + 0.4 * rng());
  const radius = size * (0.18 + 0.1 * rng());
  const data = new Uint8Array(size * size * 3);
  let o = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const inside = shape(x - cx, y - cy, radius);
      const stripe = 1 + 0.25 * Math.sin(((x * ax + y * ay) / period) * 2 * Math.PI + phase);
      const r = inside ? fr : br * stripe;
      const g = inside ? fg : bg * stripe;
      const b = inside ? fb : bb * stripe;
      data[o++] = clamp(r + (rng() * 2 - 1) * noise);
      data[o++] = clamp(g + (rng() * 2 - 1) * noise);
      data[o++] = clamp(b + (rng() * 2 - 1) * noise);
    }
  }
  return { width: size, height: size, data };
}

const clamp = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

/**
 * An 8-bit RGB PNG. Paeth filtering on every row and zlib level 6: trying every filter per row
 * (pngjs' default) and level 9 cost several times the CPU and save almost nothing on noisy images.
 */
export function encodePng(img: RgbImage): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false, deflateLevel: 6, filterType: 4 });
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Decodes a PNG (any colour type and bit depth pngjs reads) to 8-bit RGB; alpha is dropped. */
export function decodeImage(buf: Buffer): RgbImage {
  if (buf.length < 8 || !buf.subarray(0, 8).equals(PNG_SIGNATURE)) {
    throw new Error(`Not a PNG image (starts with ${buf.subarray(0, 8).toString('hex') || 'nothing'}); only PNG is supported`);
  }
  let png: PNG;
  try {
    png = PNG.sync.read(buf);
  } catch (err) {
    throw new Error(`Cannot decode PNG image: ${(err as Error).message}`);
  }
  const { width, height } = png;
  const rgba = png.data;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0, o = 0; i < rgba.length; i += 4) {
    data[o++] = rgba[i]!;
    data[o++] = rgba[i + 1]!;
    data[o++] = rgba[i + 2]!;
  }
  return { width, height, data };
}
