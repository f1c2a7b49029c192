/**
 * The master's durable state in SQLite (better-sqlite3, WAL): the inode tree and the mount
 * table. Each namespace change is one transaction, committed before the call is answered, so an
 * acknowledged operation survives kill -9 (WAL with synchronous=NORMAL is durable against a
 * process crash; a power cut may lose the last transactions). Block locations are not here: they
 * are soft state, rebuilt from worker block reports.
 */
import Database from 'better-sqlite3';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { PersistenceState, TtlAction } from '../common/types.js';

export interface InodeRow {
  id: number;
  parent: number;
  name: string;
  folder: number;
  mode: number;
  owner: string;
  grp: string;
  length: number;
  block_size: number;
  completed: number;
  state: PersistenceState;
  pinned: number;
  ttl: number;
  ttl_action: TtlAction;
  created_ms: number;
  mtime_ms: number;
  fingerprint: string;
  synced_ms: number;
  children_loaded: number;
}

/**
 * Inode rows are read as arrays (better-sqlite3's raw mode) and made into objects here, all of
 * one shape: half the cost per row of letting the driver build them, and a folder listing is a
 * row per entry.
 */
const INODE_COLUMNS = ['id', 'parent', 'name', 'folder', 'mode', 'owner', 'grp', 'length', 'block_size', 'completed', 'state', 'pinned', 'ttl', 'ttl_action', 'created_ms', 'mtime_ms', 'fingerprint', 'synced_ms', 'children_loaded'] as const;

function inodeOf(r: unknown[]): InodeRow {
  return {
    id: r[0] as number,
    parent: r[1] as number,
    name: r[2] as string,
    folder: r[3] as number,
    mode: r[4] as number,
    owner: r[5] as string,
    grp: r[6] as string,
    length: r[7] as number,
    block_size: r[8] as number,
    completed: r[9] as number,
    state: r[10] as PersistenceState,
    pinned: r[11] as number,
    ttl: r[12] as number,
    ttl_action: r[13] as TtlAction,
    created_ms: r[14] as number,
    mtime_ms: r[15] as number,
    fingerprint: r[16] as string,
    synced_ms: r[17] as number,
    children_loaded: r[18] as number,
  };
}

export interface MountRow {
  id: number;
  path: string;
  ufs_uri: string;
  options: string;
  readonly: number;
  shared: number;
}

export const ROOT_ID = 1;

/**
 * Files whose cached blocks workers must keep (see keptFileIds). Asked on every heartbeat: the
 * partial index below, on exactly this condition, makes that read these rows alone, not the
 * whole table (a full scan of a million inodes each second would stall the master).
 */
const KEPT = "folder = 0 AND (pinned = 1 OR (completed = 1 AND state IN ('NOT_PERSISTED', 'TO_BE_PERSISTED')))";
export const KEPT_FILES_SQL = `SELECT id FROM inodes WHERE ${KEPT}`;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS inodes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  parent INTEGER NOT NULL,
  name TEXT NOT NULL,
  folder INTEGER NOT NULL,
  mode INTEGER NOT NULL,
  owner TEXT NOT NULL,
  grp TEXT NOT NULL,
  length INTEGER NOT NULL DEFAULT 0,
  block_size INTEGER NOT NULL DEFAULT 0,
  completed INTEGER NOT NULL DEFAULT 1,
  state TEXT NOT NULL,
  pinned INTEGER NOT NULL DEFAULT 0,
  ttl INTEGER NOT NULL DEFAULT -1,
  ttl_action TEXT NOT NULL DEFAULT 'FREE',
  created_ms INTEGER NOT NULL,
  mtime_ms INTEGER NOT NULL,
  fingerprint TEXT NOT NULL DEFAULT '',
  synced_ms INTEGER NOT NULL DEFAULT 0,
  children_loaded INTEGER NOT NULL DEFAULT 0,
  UNIQUE (parent, name)
);
CREATE INDEX IF NOT EXISTS inodes_state ON inodes (state) WHERE state = 'TO_BE_PERSISTED';
CREATE INDEX IF NOT EXISTS inodes_ttl ON inodes (ttl) WHERE ttl >= 0;
CREATE INDEX IF NOT EXISTS inodes_kept ON inodes (id) WHERE ${KEPT};
CREATE TABLE IF NOT EXISTS mounts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  path TEXT NOT NULL UNIQUE,
  ufs_uri TEXT NOT NULL,
  options TEXT NOT NULL,
  readonly INTEGER NOT NULL,
  shared INTEGER NOT NULL
);
`;

export type InodePatch = Partial<Omit<InodeRow, 'id'>>;

export class MetaStore {
  readonly db: Database.Database;
  private readonly stmts;
  /** Statements made on demand (inserts and updates by the columns they set), compiled once: compiling cost more than running them. */
  private readonly statements = new Map<string, Database.Statement>();

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, 'metadata.db');
    this.db = new Database(file);
    chmodSync(file, 0o600);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    const rows = <P extends unknown[]>(where: string) => this.db.prepare<P, unknown[]>(`SELECT ${INODE_COLUMNS.join(', ')} FROM inodes ${where}`).raw(true);
    this.stmts = {
      byId: rows<[number]>('WHERE id = ?'),
      child: rows<[number, string]>('WHERE parent = ? AND name = ?'),
      children: rows<[number]>('WHERE parent = ? ORDER BY name'),
      childCount: this.db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM inodes WHERE parent = ?'),
      remove: this.db.prepare<[number]>('DELETE FROM inodes WHERE id = ?'),
      mounts: this.db.prepare<[], MountRow>('SELECT * FROM mounts ORDER BY length(path) DESC'),
      toPersist: rows<[]>("WHERE state = 'TO_BE_PERSISTED' AND completed = 1"),
      withTtl: rows<[]>('WHERE ttl >= 0'),
      subtree: this.db
        .prepare<[number], unknown[]>(
          `WITH RECURSIVE sub(id) AS (SELECT ? UNION ALL SELECT i.id FROM inodes i JOIN sub ON i.parent = sub.id) SELECT ${INODE_COLUMNS.map((c) => `inodes.${c}`).join(', ')} FROM inodes JOIN sub USING (id)`,
        )
        .raw(true),
      kept: this.db.prepare<[], { id: number }>(KEPT_FILES_SQL),
    };
  }

  private statement(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  get(id: number): InodeRow | undefined {
    const r = this.stmts.byId.get(id);
    return r && inodeOf(r);
  }

  child(parent: number, name: string): InodeRow | undefined {
    const r = this.stmts.child.get(parent, name);
    return r && inodeOf(r);
  }

  children(parent: number): InodeRow[] {
    return this.stmts.children.all(parent).map(inodeOf);
  }

  childCount(parent: number): number {
    return this.stmts.childCount.get(parent)!.n;
  }

  /** Pinned files, and completed files whose cached copy is their only one (not persisted yet). */
  keptFileIds(): number[] {
    return this.stmts.kept.all().map((r) => r.id);
  }

  insert(row: Omit<InodeRow, 'id'> & { id?: number }): InodeRow {
    const cols = Object.keys(row);
    const info = this.statement(`INSERT INTO inodes (${cols.join(',')}) VALUES (${cols.map((c) => '@' + c).join(',')})`).run(row);
    // Every column was given: the row is what was written, with its id (no read back).
    return { ...row, id: Number(info.lastInsertRowid) };
  }

  update(id: number, patch: InodePatch): void {
    const cols = Object.keys(patch);
    if (cols.length === 0) return;
    this.statement(`UPDATE inodes SET ${cols.map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id`).run({ ...patch, id });
  }

  /** All inodes of a subtree, its root first. */
  subtree(id: number): InodeRow[] {
    return this.stmts.subtree.all(id).map(inodeOf);
  }

  remove(id: number): void {
    this.stmts.remove.run(id);
  }

  mounts(): MountRow[] {
    return this.stmts.mounts.all();
  }

  addMount(row: Omit<MountRow, 'id'>): MountRow {
    const info = this.statement('INSERT INTO mounts (path, ufs_uri, options, readonly, shared) VALUES (@path, @ufs_uri, @options, @readonly, @shared)').run(row);
    return { ...row, id: Number(info.lastInsertRowid) };
  }

  removeMount(path: string): void {
    this.statement('DELETE FROM mounts WHERE path = ?').run(path);
  }

  filesToPersist(): InodeRow[] {
    return this.stmts.toPersist.all().map(inodeOf);
  }

  filesWithTtl(): InodeRow[] {
    return this.stmts.withTtl.all().map(inodeOf);
  }

  close(): void {
    this.db.close();
  }
}
