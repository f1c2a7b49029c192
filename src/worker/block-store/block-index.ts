/**
 * The durable index of committed blocks (SQLite, WAL). A row is written only after the block's
 * bytes are fdatasync'ed, so a row always names bytes that are on disk; bytes without a row are
 * punched out at startup. Last-access times are written in batches, never per read; new rows
 * too, in one transaction per INDEX_FLUSH_MS (a crash loses at most those: cache misses). Blocks
 * come in one at a time: a transaction per block cost more CPU than the block's own bytes.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/** How long new rows wait to be written together. */
export const INDEX_FLUSH_MS = 100;

export interface IndexRow {
  blockId: number;
  fileId: number;
  index: number;
  blockSize: number;
  length: number;
  tier: string;
  dir: string;
  lastAccessMs: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS blocks (
  block_id INTEGER PRIMARY KEY,
  file_id INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  block_size INTEGER NOT NULL,
  length INTEGER NOT NULL,
  tier TEXT NOT NULL,
  dir TEXT NOT NULL,
  last_access_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS blocks_by_file ON blocks (file_id);
`;

export class BlockIndex {
  private readonly insertStmt;
  private readonly moveStmt;
  private readonly deleteStmt;
  private readonly touchStmt;
  private pending: IndexRow[] = [];

  private constructor(private readonly db: Database.Database) {
    db.pragma('journal_mode = WAL');
    // NORMAL: a crash of the machine may lose the last rows, never order them before the bytes
    // (rows are written after fdatasync); a lost row is a cache miss and its bytes are punched
    // out at startup. FULL would fsync on the worker's only thread for every block cached.
    db.pragma('synchronous = NORMAL');
    db.exec(SCHEMA);
    this.insertStmt = db.prepare(
      `INSERT OR REPLACE INTO blocks (block_id, file_id, idx, block_size, length, tier, dir, last_access_ms)
       VALUES (@blockId, @fileId, @index, @blockSize, @length, @tier, @dir, @lastAccessMs)`,
    );
    this.moveStmt = db.prepare('UPDATE blocks SET tier = ?, dir = ? WHERE block_id = ?');
    this.deleteStmt = db.prepare('DELETE FROM blocks WHERE block_id = ?');
    this.touchStmt = db.prepare('UPDATE blocks SET last_access_ms = ? WHERE block_id = ?');
  }

  static open(path: string): BlockIndex {
    mkdirSync(dirname(path), { recursive: true });
    return new BlockIndex(new Database(path));
  }

  /** Every row, least recently used first. */
  all(): IndexRow[] {
    this.flush();
    return this.db
      .prepare(
        `SELECT block_id AS blockId, file_id AS fileId, idx AS "index", block_size AS blockSize,
                length, tier, dir, last_access_ms AS lastAccessMs
         FROM blocks ORDER BY last_access_ms, block_id`,
      )
      .all() as IndexRow[];
  }

  put(row: IndexRow): void {
    if (this.pending.push(row) === 1) setTimeout(() => this.flush(), INDEX_FLUSH_MS);
  }

  /** Writes the rows put since the last flush; every other operation flushes first, so order holds. */
  flush(): void {
    if (this.pending.length === 0 || !this.db.open) return;
    const rows = this.pending;
    this.pending = [];
    this.db.transaction(() => {
      for (const row of rows) this.insertStmt.run(row);
    })();
  }

  move(blockId: number, tier: string, dir: string): void {
    this.flush();
    this.moveStmt.run(tier, dir, blockId);
  }

  delete(blockId: number): void {
    this.flush();
    this.deleteStmt.run(blockId);
  }

  deleteMany(blockIds: Iterable<number>): void {
    this.flush();
    this.db.transaction(() => {
      for (const id of blockIds) this.deleteStmt.run(id);
    })();
  }

  /** Writes last-access times in one transaction. */
  touchMany(entries: Iterable<[blockId: number, lastAccessMs: number]>): void {
    this.flush();
    this.db.transaction(() => {
      for (const [id, ms] of entries) this.touchStmt.run(ms, id);
    })();
  }

  close(): void {
    this.flush();
    this.db.close();
  }
}
