/**
 * FUSE node ids and the paths they stand for. The kernel holds a lookup count per node id
 * (each LOOKUP, CREATE, MKDIR or READDIRPLUS entry adds one; FORGET takes them back); an id is
 * dropped only at zero, so it never changes meaning while the kernel may still use it. Renames
 * move the ids of a whole subtree to their new paths.
 */
export const ROOT_NODE = 1n;

interface Node {
  path: string;
  lookups: number;
  /** Open handles by io mode: the kernel refuses passthrough beside cached io on one inode. */
  openCached: number;
  /** The passthrough backing id of the read handle that holds it. */
  backing?: { id: number; handle: unknown };
  /** Size and mtime seen at the last open, for keeping the kernel page cache. */
  version?: string;
}

export class InodeTable {
  private readonly nodes = new Map<bigint, Node>([[ROOT_NODE, { path: '/', lookups: 1, openCached: 0 }]]);
  private readonly byPath = new Map<string, bigint>([['/', ROOT_NODE]]);
  private next = 2n;

  path(nodeid: bigint): string | undefined {
    return this.nodes.get(nodeid)?.path;
  }

  node(nodeid: bigint): Node | undefined {
    return this.nodes.get(nodeid);
  }

  /** The id for a path, one more lookup counted. */
  lookup(path: string): bigint {
    let id = this.byPath.get(path);
    if (id === undefined) {
      id = this.next++;
      this.nodes.set(id, { path, lookups: 0, openCached: 0 });
      this.byPath.set(path, id);
    }
    this.nodes.get(id)!.lookups++;
    return id;
  }

  forget(nodeid: bigint, count: number): void {
    if (nodeid === ROOT_NODE) return;
    const n = this.nodes.get(nodeid);
    if (!n) return;
    n.lookups -= count;
    if (n.lookups <= 0 && n.openCached === 0 && !n.backing) {
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
