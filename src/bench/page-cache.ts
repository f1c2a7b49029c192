/**
 * Dropping the kernel's page cache, so that a timed read of local files reads the disk.
 * Only root may; callers say in their results which it was.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const DROP_CACHES = '/proc/sys/vm/drop_caches';

export function canDropPageCache(): boolean {
  try {
    accessSync(DROP_CACHES, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

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
