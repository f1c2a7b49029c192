/**
 * Folder read-ahead. A training job's first epoch opens the files of its dataset folders cold,
 * in a shuffled order, a few at a time: each reader waits out the UFS's latency per file, so
 * the epoch runs at readers x file size / latency, far below what the UFS could send. Once a few
 * files of one folder have been opened cold within a short time, the mount has the workers load
 * the folder's other files in the background, many at once (the workers never evict for it);
 * readers then find their files cached, or join fills already running.
 *
 * Datasets are often trees of folders read at once (ImageFolder: train/<class>/<image>, one
 * folder per class, a shuffle over all of them): each folder would need its own few cold opens,
 * and with a thousand classes the first epoch would be half over before the last one starts.
 * So once a folder is prefetched, so are its sibling folders (same parent) read cold lately, and
 * the first cold open in any other sibling starts that one's at once. (Counting cold opens across
 * siblings too, to start sooner, measured slower in a shuffled epoch over class folders, and cost
 * the worker more CPU.)
 */
import type { FileSystem } from '../../client/file-system.js';
import type { Logger } from '../../common/logging.js';
import { parentPath } from '../../common/paths.js';
import type { FileInfo } from '../../common/types.js';
import type { PrefetchWarmer } from './prefetch-warmer.js';

export interface FolderPrefetchOptions {
  /** Cold opens in one folder, within WINDOW_MS, that start its prefetch; 0 turns it off. */
  trigger: number;
  /** Larger files are left to their readers. */
  maxFileBytes: number;
}

/** Cold opens count towards a folder's trigger for this long after the first. */
const WINDOW_MS = 10_000;
/** A folder is not prefetched again for this long (a prefetch that found no room may retry then). */
const AGAIN_MS = 60_000;
/** Files asked for in one call to the workers. */
const BATCH_FILES = 2000;
/** Folders tracked at once; the oldest are forgotten first. */
const MAX_FOLDERS = 4096;
/** Larger folders are not listed whole for a prefetch (one listing of them is itself heavy). */
const MAX_FOLDER_ENTRIES = 100_000;

export class FolderPrefetch {
  /** Cold opens lately, by folder. */
  private readonly coldOpens = new Map<string, { firstMs: number; files: Set<number> }>();
  private readonly prefetchedAt = new Map<string, number>();
  /** Parents of folders prefetched lately, when: their other children start on one cold open. */
  private readonly datasetParents = new Map<string, number>();

  constructor(
    private readonly fs: FileSystem,
    private readonly opts: FolderPrefetchOptions,
    private readonly logger: Logger,
    /** Leases what the prefetches load, ahead of the readers' opens. */
    private readonly warmer?: PrefetchWarmer,
    /** The entries of a Strata folder if the mount listed it within its metadata expiry. */
    private readonly listedJustNow?: (folder: string) => FileInfo[] | undefined,
  ) {}

  close(): void {
    this.warmer?.close();
  }

  /**
   * A file at Strata path `path` was opened and is not cached whole. `folderEntries`: how many
   * entries its folder has, when the mount knows (else the prefetch asks the master).
   */
  coldOpen(path: string, info: FileInfo, folderEntries?: number): void {
    if (this.opts.trigger <= 0 || info.persistenceState !== 'PERSISTED' || info.length > this.opts.maxFileBytes) return;
    const dir = parentPath(path);
    const now = Date.now();
    const done = this.prefetchedAt.get(dir);
    if (done !== undefined && now - done < AGAIN_MS) return;
    const seen = countColdOpen(this.coldOpens, dir, info.fileId, now);
    // The root has no siblings (it is its own parent).
    const parent = dir === '/' ? undefined : parentPath(dir);
    const siblingStarted = parent === undefined ? undefined : this.datasetParents.get(parent);
    const sibling = siblingStarted !== undefined && now - siblingStarted < AGAIN_MS;
    if (seen < this.opts.trigger && !sibling) return;
    this.start(dir, now, folderEntries);
    if (parent === undefined) return;
    this.datasetParents.delete(parent);
    this.datasetParents.set(parent, now);
    forgetOldest(this.datasetParents);
    // Siblings already read cold in this window start now, not at their next cold open.
    for (const [other, o] of [...this.coldOpens]) {
      if (other !== parent && other !== '/' && parentPath(other) === parent && now - o.firstMs <= WINDOW_MS) this.start(other, now);
    }
  }

  private start(dir: string, now: number, entries?: number): void {
    this.coldOpens.delete(dir);
    this.prefetchedAt.set(dir, now);
    forgetOldest(this.prefetchedAt);
    this.prefetch(dir, entries).catch((err: unknown) => this.logger.warn({ folder: dir, err: (err as Error).message }, 'folder prefetch failed'));
  }

  private async prefetch(dir: string, entries?: number): Promise<void> {
    const listed = this.listedJustNow?.(dir);
    // A count of 0 may be a folder the mount has not counted: ask.
    const size = listed?.length ?? (entries || (await this.fs.getStatus(dir)).children);
    if (size > MAX_FOLDER_ENTRIES) {
      this.logger.info({ folder: dir, entries: size }, `folder read cold is not prefetched: over ${MAX_FOLDER_ENTRIES} entries`);
      return;
    }
    // Listed with block locations just now (for the mount's lookups): no second listing.
    const listing = listed?.every((f) => f.folder || f.blocks) ? listed : await this.fs.listStatus(dir, { blocks: true });
    const files = listing.filter(
      (f) => !f.folder && f.persistenceState === 'PERSISTED' && f.inAlluxioPercentage < 100 && f.length > 0 && f.length <= this.opts.maxFileBytes,
    );
    await this.warmer?.follow(files).catch((err: unknown) => this.logger.debug({ err: (err as Error).message }, 'prefetched files are not followed'));
    let queued = 0;
    for (let i = 0; i < files.length; i += BATCH_FILES) queued += await this.fs.prefetch(files.slice(i, i + BATCH_FILES));
    this.logger.info({ folder: dir, files: files.length, blocks: queued }, 'folder read cold: its other files are being loaded');
  }
}

/** Counts a file's cold open under `key` (a new window once the last is over): how many now. */
function countColdOpen(m: Map<string, { firstMs: number; files: Set<number> }>, key: string, fileId: number, now: number): number {
  let seen = m.get(key);
  if (!seen || now - seen.firstMs > WINDOW_MS) {
    m.delete(key);
    m.set(key, (seen = { firstMs: now, files: new Set() }));
    forgetOldest(m);
  }
  seen.files.add(fileId);
  return seen.files.size;
}

function forgetOldest(m: Map<string, unknown>): void {
  while (m.size > MAX_FOLDERS) m.delete(m.keys().next().value!);
}
