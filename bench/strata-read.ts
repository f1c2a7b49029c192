/** Reads a whole Strata file through the client into a reused buffer; returns the bytes read. */
import type { FileSystem } from '../src/client/file-system.js';
import type { ReadType } from '../src/common/types.js';

export async function readWhole(fs: FileSystem, path: string, buf: Buffer, readType?: ReadType): Promise<number> {
  const s = await fs.openFile(path, { readType });
  let total = 0;
  try {
    for (;;) {
      const n = await s.read(buf, total);
      if (n === 0) return total;
      total += n;
    }
  } finally {
    await s.close();
  }
}
