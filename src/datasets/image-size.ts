/**
 * The side length that makes a synthetic PNG about a given number of bytes. With noise, a PNG
 * costs close to a fixed number of bytes per pixel, so encoding a probe image, measuring, and
 * solving for the side converges in two or three rounds. Results are remembered per target.
 */
import { DEFAULT_NOISE, encodePng, syntheticImage } from './images.js';
import { mulberry32 } from './random.js';

export const MIN_SIDE = 8;
export const MAX_SIDE = 8192;
/** Signature, IHDR, IDAT framing and IEND: what a PNG costs beyond its pixels. */
const PNG_OVERHEAD = 70;

const memo = new Map<string, number>();

export function sideForBytes(targetBytes: number, noise = DEFAULT_NOISE): number {
  const key = `${targetBytes}/${noise}`;
  const known = memo.get(key);
  if (known !== undefined) return known;
  const clampSide = (s: number) => Math.max(MIN_SIDE, Math.min(MAX_SIDE, Math.round(s)));
  let side = clampSide(Math.sqrt(targetBytes / 2.5));
  for (let round = 0; round < 3; round++) {
    // A probe no larger than 256 px: bytes per pixel hardly change with size, and big probes are slow.
    const probe = Math.min(side, 256);
    const bytes = encodePng(syntheticImage(0, 2, probe, mulberry32(round + 1), { noise })).length;
    const perPixel = Math.max(bytes - PNG_OVERHEAD, 1) / (probe * probe);
    const next = clampSide(Math.sqrt(Math.max(targetBytes - PNG_OVERHEAD, 1) / perPixel));
    if (next === side) break;
    side = next;
  }
  memo.set(key, side);
  return side;
}
