/**
 * LOOKUP answers the reader threads give without JavaScript (native/fuse_entries.c). Each time a
 * dentry's entry timeout passes, the kernel asks again for the name before the next open; for a
 * training epoch over cached files that is one round trip through this thread per file, for
 * metadata the mount already holds. So every answer the mount gives from fresh metadata (a
 * lookup, a folder re-listing) is also offered to the reader threads for as long as that
 * metadata stays fresh, and all offers are withdrawn before and after anything that changes
 * names or attributes through the mount. A native answer is therefore never staler than the
 * metadata cache it was copied from.
 */
import { native } from '../common/native.js';

export class NativeEntries {
  private generation = 0;

  constructor(private readonly sessionFd: () => number) {}

  /** Taken before fetching metadata: an offer made from it is refused if anything changed since. */
  get current(): number {
    return this.generation;
  }

  /** No offer made so far answers again. */
  invalidate(): void {
    this.generation++;
    native().fuseEntriesInvalidate();
  }

  /** LOOKUPs of `name` in `parent` get `entryOut` (a fuse_entry_out for `nodeid`) for `validMs`. */
  offer(since: number, parent: bigint, name: string, nodeid: bigint, entryOut: Buffer, validMs: number): void {
    const fd = this.sessionFd();
    if (since !== this.generation || validMs <= 0 || fd < 0) return;
    native().fuseEntrySet(fd, parent, name, nodeid, entryOut, Math.floor(validMs));
  }

  /** The lookups of `nodeid` answered natively since the last take; `drop` ends its answers too. */
  take(nodeid: bigint, drop: boolean): number {
    const fd = this.sessionFd();
    return fd < 0 ? 0 : native().fuseEntryTake(fd, nodeid, drop);
  }

  /** Runs a change with every offer withdrawn before it starts and again once it is done. */
  async around<T>(change: () => Promise<T> | T): Promise<T> {
    this.invalidate();
    try {
      return await change();
    } finally {
      this.invalidate();
    }
  }
}
