/**
 * Startup reconciliation of the index with the cache files. Only a row makes a block cached,
 * and a row is written after its bytes are synced, so after a crash:
 *  - rows whose cache file is missing or too short are dropped (the file was lost);
 *  - bytes of a cache file that no row covers (a fill or a move cut short) are punched out,
 *    and a tail past the last covered byte is truncated;
 *  - cache files with no rows at all are deleted.
 * Rows naming a folder no longer configured are dropped; their files are left alone.
 */
import { mkdir, open, readdir, stat } from 'node:fs/promises';
import type { Logger } from '../../common/logging.js';
import type { BlockIndex, IndexRow } from './block-index.js';
import { punchRange, removeFile } from './cache-file.js';
import { offsetOf, type BlockRecord } from './store-state.js';
import type { Tier, TierDir } from './tiers.js';

async function fileSize(path: string): Promise<number | undefined> {
  try {
    const st = await stat(path);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

/** Returns the committed blocks still backed by their bytes, least recently used first. */
export async function recover(tiers: Tier[], index: BlockIndex, logger: Logger): Promise<BlockRecord[]> {
  const dirs = new Map<string, TierDir>();
  for (const tier of tiers) {
    for (const dir of tier.dirs) {
      await mkdir(dir.path, { recursive: true });
      dirs.set(dir.path, dir);
    }
  }
  const sizes = new Map<string, number | undefined>();
  const kept: BlockRecord[] = [];
  const dropped: IndexRow[] = [];
  for (const row of index.all()) {
    const dir = dirs.get(row.dir);
    const path = dir?.cacheFile(row.fileId);
    if (path !== undefined && !sizes.has(path)) sizes.set(path, await fileSize(path));
    const size = path === undefined ? undefined : sizes.get(path);
    if (!dir || size === undefined || size < offsetOf(row) + row.length) {
      dropped.push(row);
      continue;
    }
    if (row.tier !== dir.tier.alias) index.move(row.blockId, dir.tier.alias, dir.path);
    kept.push({ ...row, dir });
  }
  if (dropped.length > 0) {
    logger.warn({ blocks: dropped.map((r) => r.blockId) }, 'dropping index rows whose cache files are gone');
    index.deleteMany(dropped.map((r) => r.blockId));
  }

  const covered = new Map<string, { start: number; end: number }[]>();
  for (const rec of kept) {
    const path = rec.dir.cacheFile(rec.fileId);
    const list = covered.get(path) ?? [];
    list.push({ start: offsetOf(rec), end: offsetOf(rec) + rec.length });
    covered.set(path, list);
  }
  for (const dir of dirs.values()) {
    for (const entry of await readdir(dir.path, { withFileTypes: true })) {
      const path = dir.cacheFile(Number(entry.name));
      if (!entry.isFile() || !/^\d+$/.test(entry.name) || path !== `${dir.path}/${entry.name}`) {
        logger.warn({ dir: dir.path, entry: entry.name }, 'leaving a foreign entry in a cache folder');
        continue;
      }
      const ranges = covered.get(path);
      if (!ranges) {
        logger.info({ path }, 'deleting a cache file with no committed blocks');
        await removeFile(path);
      } else {
        await punchGaps(path, ranges);
      }
    }
  }
  return kept;
}

/** Punches every byte of the file outside `ranges`, and truncates past the last one. */
async function punchGaps(path: string, ranges: { start: number; end: number }[]): Promise<void> {
  ranges.sort((a, b) => a.start - b.start);
  let cursor = 0;
  for (const r of ranges) {
    if (r.start > cursor) await punchRange(path, cursor, r.start - cursor);
    cursor = Math.max(cursor, r.end);
  }
  const fh = await open(path, 'r+');
  try {
    if ((await fh.stat()).size > cursor) await fh.truncate(cursor);
  } finally {
    await fh.close();
  }
}
