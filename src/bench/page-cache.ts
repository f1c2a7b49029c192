/**
 * Dropping the kernel's page cache, so that a timed read of local files reads the disk: all of
 * it (root only; callers say in their results which it was), or just some files' pages.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { native } from '../common/native.js';

const DROP_CACHES = '/proc/sys/vm/drop_caches';

/**
 * Writes back dirty pages, drops clean ones, then waits `settleMs`: this VM hands freed memory to
 * its host a moment later, and reads right after a drop can be several times faster or slower
 * than a few seconds later (BENCHMARKS.md).
 */
export async function dropPageCache(settleMs = 1500): Promise<void> {
  execFileSync('sync');
  writeFileSync(DROP_CACHES, '3');
  await sleep(settleMs);
}

/**
 * Drops these files' pages only, then waits `settleMs` as dropPageCache does. The rest stays:
 * programs' code, their databases, directory entries. Dropping everything would have every
 * process that runs next (a user-space file system, an S3 server) fault its code back in from
 * disk, which a job reading a dataset too big for memory never pays.
 */
export async function evictFromPageCache(paths: Iterable<string>, settleMs = 1500): Promise<void> {
  execFileSync('sync');
  for (const path of paths) {
    const fd = openSync(path, 'r');
    try {
      native().dropFileCache(fd);
    } finally {
      closeSync(fd);
    }
  }
  await sleep(settleMs);
}
