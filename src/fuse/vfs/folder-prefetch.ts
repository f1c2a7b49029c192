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
 * the first cold open in any other sibling starts that one's at once.
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
    const folder = parentPath(path);
    const now = Date.now();
    const done = this.prefetchedAt.get(folder);
    if (done !== undefined && now - done < AGAIN_MS) return;
    let seen = this.coldOpens.get(folder);
    if (!seen || now - seen.firstMs > WINDOW_MS) {
      this.coldOpens.delete(folder);
      this.coldOpens.set(folder, (seen = { firstMs: now, files: new Set() }));
      forgetOldest(this.coldOpens);
    }
    seen.files.add(info.fileId);
    // The root has no siblings (it is its own parent).
    const parent = folder === '/' ? undefined : parentPath(folder);
    const siblingStarted = parent === undefined ? undefined : this.datasetParents.get(parent);
    const sibling = siblingStarted !== undefined && now - siblingStarted < AGAIN_MS;
    if (seen.files.size < this.opts.trigger && !sibling) return;
    this.start(folder, now, folderEntries);
    if (parent === undefined) return;
    this.datasetParents.delete(parent);
    this.datasetParents.set(parent, now);
    forgetOldest(this.datasetParents);
    // Siblings already read cold in this window start now, not at their next cold open.
    for (const [other, o] of [...this.coldOpens]) {
      if (other !== parent && other !== '/' && parentPath(other) === parent && now - o.firstMs <= WINDOW_MS) this.start(other, now);
    }
  }

  private start(folder: string, now: number, entries?: number): void {
    this.coldOpens.delete(folder);
    this.prefetchedAt.set(folder, now);
    forgetOldest(this.prefetchedAt);
    this.prefetch(folder, entries).catch((err: unknown) => this.logger.warn({ folder, err: (err as Error).message }, 'folder prefetch failed'));
  }

  private async prefetch(folder: string, entries?: number): Promise<void> {
    // A count of 0 may be a folder the mount has not counted: ask.
    const size = entries || (await this.fs.getStatus(folder)).children;
    if (size > MAX_FOLDER_ENTRIES) {
      this.logger.info({ folder, entries: size }, `folder read cold is not prefetched: over ${MAX_FOLDER_ENTRIES} entries`);
      return;
    }
    const files = (await this.fs.listStatus(folder, { blocks: true })).filter(
      (f) => !f.folder && f.persistenceState === 'PERSISTED' && f.inAlluxioPercentage < 100 && f.length > 0 && f.length <= this.opts.maxFileBytes,
    );
    await this.warmer?.follow(files).catch((err: unknown) => this.logger.debug({ err: (err as Error).message }, 'prefetched files are not followed'));
    let queued = 0;
    for (let i = 0; i < files.length; i += BATCH_FILES) queued += await this.fs.prefetch(files.slice(i, i + BATCH_FILES));
    this.logger.info({ folder, files: files.length, blocks: queued }, 'folder read cold: its other files are being loaded');
  }
}

function forgetOldest(m: Map<string, unknown>): void {
  while (m.size > MAX_FOLDERS) m.delete(m.keys().next().value!);
}
