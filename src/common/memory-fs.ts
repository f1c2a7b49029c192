/**
 * Whether a folder lives in memory (tmpfs, ramfs). There a file's bytes do not outlive the
 * machine, so syncing them buys nothing, and a system call is a memory copy: making it
 * synchronously costs a few microseconds, where handing it to libuv's thread pool costs a
 * thread wake-up and two context switches (tens of microseconds of CPU per call).
 */
import { statfsSync } from 'node:fs';

const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;
const known = new Map<string, boolean>();

/** Answered from the folder's file system type, asked once per folder; false if it cannot be read. */
export function isMemoryBacked(dir: string): boolean {
  let memory = known.get(dir);
  if (memory === undefined) {
    try {
      const type = statfsSync(dir).type;
      memory = type === TMPFS_MAGIC || type === RAMFS_MAGIC;
    } catch {
      return false;
    }
    known.set(dir, memory);
  }
  return memory;
}
