/**
 * FUSE node ids and the paths they stand for. The kernel holds a lookup count per node id
 * (each LOOKUP, CREATE, MKDIR or READDIRPLUS entry adds one; FORGET takes them back); an id is
 * dropped only at zero, so it never changes meaning while the kernel may still use it. Renames
 * move the ids of a whole subtree to their new paths.
 */
export const ROOT_NODE = 1n;

export interface InodeNode {
  path: string;
  lookups: number;
  /**
   * Open read handles in cached or direct io: the kernel refuses passthrough beside cached io on
   * one inode, and a direct open enters cached io once it is mapped (mmap).
   */
  openCached: number;
  /** Open handles in passthrough: while there are any, the kernel takes only passthrough opens on the same backing file. */
  openPassthrough: number;
  /**
   * The inode's one passthrough backing id, for the file version it was opened on, kept while
   * any read handle of that version holding the whole file is alive (warm ones included).
   */
  backing?: { id: number; version: string; holders: Set<unknown>; closed?: boolean };
  /** Opens for writing, from before they start until released: no passthrough meanwhile. */
  writers: number;
  /** The Strata file the id stands for: a path that now names another file gets a new id. */
  fileId?: number;
  /** Size and mtime seen at the last open, for keeping the kernel page cache. */
  version?: string;
}

const newNode = (path: string): InodeNode => ({ path, lookups: 0, openCached: 0, openPassthrough: 0, writers: 0 });

/**
 * Lookups of a node id counted elsewhere (LOOKUPs answered by the reader threads) since last
 * asked; `drop` stops more from being counted there.
 */
export type ExtraLookups = (nodeid: bigint, drop: boolean) => number;

export class InodeTable {
  private readonly nodes = new Map<bigint, InodeNode>([[ROOT_NODE, { ...newNode('/'), lookups: 1 }]]);
  private readonly byPath = new Map<string, bigint>([['/', ROOT_NODE]]);
  private next = 2n;

  constructor(private readonly extraLookups: ExtraLookups = () => 0) {}

  path(nodeid: bigint): string | undefined {
    return this.nodes.get(nodeid)?.path;
  }

  node(nodeid: bigint): InodeNode | undefined {
    return this.nodes.get(nodeid);
  }

  /**
   * The id for a path, one more lookup counted. A file replaced under the same path (another
   * file id) is a new inode to the kernel, as on a local file system: handles open on the old
   * one, and the kernel's state for it (its page cache, its passthrough backing file), stay with
   * the old id.
   */
  lookup(path: string, fileId?: number): bigint {
    let id = this.byPath.get(path);
    const known = id === undefined ? undefined : this.nodes.get(id)!;
    if (known && fileId !== undefined && known.fileId !== undefined && known.fileId !== fileId) {
      this.byPath.delete(path);
      id = undefined;
    }
    if (id === undefined) {
      id = this.next++;
      this.nodes.set(id, newNode(path));
      this.byPath.set(path, id);
    }
    const node = this.nodes.get(id)!;
    node.lookups++;
    if (fileId !== undefined) node.fileId = fileId;
    return id;
  }

  /** The id of a path, if the kernel knows one (no lookup counted). */
  idOf(path: string): bigint | undefined {
    return this.byPath.get(path);
  }

  forget(nodeid: bigint, count: number): void {
    if (nodeid === ROOT_NODE) return;
    const n = this.nodes.get(nodeid);
    if (!n) return;
    n.lookups += this.extraLookups(nodeid, false) - count;
    if (n.lookups <= 0 && n.openCached === 0 && n.openPassthrough === 0 && n.writers === 0 && !n.backing) {
      // Counted elsewhere between the two asks: the kernel still holds the id.
      const late = this.extraLookups(nodeid, true);
      if (late > 0) {
        n.lookups = late;
        return;
      }
      this.nodes.delete(nodeid);
      if (this.byPath.get(n.path) === nodeid) this.byPath.delete(n.path);
    }
  }

  rename(from: string, to: string): void {
    const prefix = `${from}/`;
    const moves: Array<[string, bigint]> = [];
    for (const [p, id] of this.byPath) if (p === from || p.startsWith(prefix)) moves.push([p, id]);
    for (const [p] of moves) this.byPath.delete(p);
    for (const [p, id] of moves) {
      const np = to + p.slice(from.length);
      this.nodes.get(id)!.path = np;
      this.byPath.set(np, id);
    }
  }

  /** A removed path keeps its id (the kernel may still hold it) but no longer owns the path. */
  unlink(path: string): void {
    this.byPath.delete(path);
  }

  get size(): number {
    return this.nodes.size;
  }
}
