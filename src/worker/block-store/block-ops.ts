/**
 * The steps that move or free a block's bytes. Callers hold the allocator mutex, so no two of
 * these run interleaved; reads are not under it, which is why a move commits the new location
 * first and punches the old range only after the reads that started there have finished.
 */
import { copyRange, openForWrite, punchRange, removeFile } from './cache-file.js';
import { ReadTracker } from './read-tracker.js';
import { offsetOf, type BlockRecord, type StoreState } from './store-state.js';
import type { TierDir } from './tiers.js';

/** Gives back a reservation that never became a block: punches its range, maybe the file. */
export async function releaseReservation(
  dir: TierDir,
  rec: { fileId: number; index: number; blockSize: number; length: number },
): Promise<void> {
  const path = dir.cacheFile(rec.fileId);
  await punchRange(path, offsetOf(rec), rec.length);
  if (dir.unreserve(rec.fileId, rec.length) === 0) await removeFile(path);
}

/** Frees a block's range in `dir` once no read of it is in flight. */
async function freeRange(state: StoreState, dir: TierDir, rec: BlockRecord): Promise<void> {
  await state.reads.drained(ReadTracker.key(dir.path, rec.blockId));
  const path = dir.cacheFile(rec.fileId);
  await punchRange(path, offsetOf(rec), rec.length);
  if (dir.free(rec.fileId, rec.length) === 0) await removeFile(path);
}

/** Drops a block that is not leased: hides it, then punches its bytes. False if it is leased. */
export async function dropBlock(state: StoreState, rec: BlockRecord): Promise<boolean> {
  if (state.leases.isLeased(rec.blockId)) return false;
  state.hide(rec);
  state.doomed.delete(rec.blockId);
  await freeRange(state, rec.dir, rec);
  return true;
}

/**
 * Moves a committed block into `dest`, where its space is already reserved: copies and syncs
 * the bytes, then (if the block was not leased meanwhile) commits the new location in the
 * index and in memory, and frees the old range. False, with the reservation released, if a
 * lease arrived during the copy.
 */
export async function moveBlock(state: StoreState, rec: BlockRecord, dest: TierDir): Promise<boolean> {
  const from = rec.dir;
  const offset = offsetOf(rec);
  try {
    const fh = await openForWrite(dest.cacheFile(rec.fileId), dest.memoryBacked);
    try {
      await copyRange(from.cacheFile(rec.fileId), fh, offset, rec.length);
    } finally {
      await fh.close();
    }
  } catch (err) {
    await releaseReservation(dest, rec);
    throw err;
  }
  if (state.blocks.get(rec.blockId) !== rec || state.leases.isLeased(rec.blockId)) {
    await releaseReservation(dest, rec);
    return false;
  }
  state.index.move(rec.blockId, dest.tier.alias, dest.path);
  dest.commit(rec.length);
  rec.dir = dest;
  state.noteAdded(rec.blockId, dest.tier.alias);
  await freeRange(state, from, rec);
  return true;
}
