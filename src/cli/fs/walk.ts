/** Helpers shared by shell commands that work on trees. */
import type { FileSystem } from '../../client/file-system.js';
import type { FileInfo } from '../../common/types.js';
import { joinPath } from '../../common/paths.js';

/** The files (not folders) at or below a path. */
export async function filesUnder(fs: FileSystem, path: string): Promise<FileInfo[]> {
  const info = await fs.getStatus(path);
  if (!info.folder) return [info];
  return (await fs.listStatus(path, { recursive: true })).filter((f) => !f.folder);
}

/** Where a copy of `src` lands: inside `dst` when dst is an existing folder. */
export async function copyTarget(fs: FileSystem, src: string, dst: string): Promise<string> {
  // "dir/" names a folder, existing or not, as Alluxio's shell reads it.
  if (dst.endsWith('/') && dst !== '/') return joinPath(dst.replace(/\/+$/, ''), src.slice(src.lastIndexOf('/') + 1));
  try {
    const d = await fs.getStatus(dst);
    if (d.folder) return joinPath(d.path, src.slice(src.lastIndexOf('/') + 1));
  } catch {
    // dst does not exist: it is the target itself.
  }
  return dst;
}

/** Runs `fn` over items with at most `limit` at once. */
export async function forEachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(runners);
}
