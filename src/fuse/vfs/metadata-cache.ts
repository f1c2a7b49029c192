/**
 * A bounded cache of file metadata by path, so that `ls -l` of a large folder and the lookups
 * that follow cost one listing, not one master call per entry. Entries expire after the
 * configured time (by default the kernel's attr timeout), so a change made elsewhere shows
 * within it; changes made through this mount invalidate at once.
 */
import type { FileInfo } from '../../common/types.js';
import { parentPath } from '../../common/paths.js';

export class MetadataCache {
  private readonly entries = new Map<string, { info: FileInfo; at: number }>();

  constructor(private readonly opts: { expiryMs: number; maxEntries: number; onInvalidate?: () => void }) {}

  get expiryMs(): number {
    return this.opts.expiryMs;
  }

  get(path: string): FileInfo | undefined {
    return this.entry(path)?.info;
  }

  /** The cached metadata and when it was fetched. */
  entry(path: string): { info: FileInfo; at: number } | undefined {
    const e = this.entries.get(path);
    if (!e) return undefined;
    if (Date.now() - e.at > this.opts.expiryMs) {
      this.entries.delete(path);
      return undefined;
    }
    return e;
  }

  put(path: string, info: FileInfo): void {
    if (this.opts.expiryMs <= 0) return;
    if (this.entries.size >= this.opts.maxEntries) {
      // Drop the oldest tenth: Map iteration order is insertion order.
      let n = Math.ceil(this.opts.maxEntries / 10);
      for (const k of this.entries.keys()) {
        this.entries.delete(k);
        if (--n <= 0) break;
      }
    }
    this.entries.delete(path);
    this.entries.set(path, { info, at: Date.now() });
  }

  /** Forgets a path, its parent (size, mtime) and anything below it. */
  invalidate(path: string): void {
    this.opts.onInvalidate?.();
    this.entries.delete(path);
    this.entries.delete(parentPath(path));
    const prefix = path === '/' ? '/' : `${path}/`;
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}
