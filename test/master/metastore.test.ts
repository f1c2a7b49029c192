import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KEPT_FILES_SQL, MetaStore, type InodeRow } from '../../src/master/metastore.js';

function row(name: string, over: Partial<InodeRow>): Omit<InodeRow, 'id'> {
  return {
    parent: 1,
    name,
    folder: 0,
    mode: 0o644,
    owner: 'u',
    grp: 'g',
    length: 10,
    block_size: 64 << 20,
    completed: 1,
    state: 'PERSISTED',
    pinned: 0,
    ttl: -1,
    ttl_action: 'FREE',
    created_ms: 0,
    mtime_ms: 0,
    fingerprint: '',
    synced_ms: 0,
    children_loaded: 0,
    ...over,
  };
}

test('the files workers must keep are read through their own index, not by scanning every inode', () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-metastore-'));
  const store = new MetaStore(dir);
  try {
    store.transaction(() => {
      for (let i = 0; i < 5000; i++) store.insert(row(`plain-${i}`, {}));
    });
    const pinned = store.insert(row('pinned', { pinned: 1 })).id;
    const unpersisted = store.insert(row('must-cache', { state: 'NOT_PERSISTED' })).id;
    const pending = store.insert(row('async', { state: 'TO_BE_PERSISTED' })).id;
    store.insert(row('being-written', { state: 'NOT_PERSISTED', completed: 0 }));
    store.insert(row('pinned-folder', { folder: 1, pinned: 1 }));
    store.insert(row('unpersisted-folder', { folder: 1, state: 'NOT_PERSISTED' }));

    assert.deepEqual(store.keptFileIds().sort((a, b) => a - b), [pinned, unpersisted, pending]);
    store.update(unpersisted, { state: 'PERSISTED' });
    store.update(pinned, { pinned: 0 });
    assert.deepEqual(store.keptFileIds(), [pending]);

    const plan = store.db.prepare(`EXPLAIN QUERY PLAN ${KEPT_FILES_SQL}`).all() as Array<{ detail: string }>;
    assert.ok(
      plan.some((p) => /USING (COVERING )?INDEX inodes_kept/.test(p.detail)),
      `query plan: ${plan.map((p) => p.detail).join('; ')}`,
    );
  } finally {
    store.db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every query gives back the whole row as written, with every column of the table, and updates of any shape land', () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-metastore-'));
  const store = new MetaStore(dir);
  try {
    const folder = store.insert(row('data', { parent: 0, folder: 1, mode: 0o755, children_loaded: 1, synced_ms: 7 }));
    const written = row('a.png', {
      parent: folder.id,
      mode: 0o600,
      owner: 'alice',
      grp: 'staff',
      length: 123_456,
      block_size: 1 << 20,
      state: 'TO_BE_PERSISTED',
      pinned: 1,
      ttl: 60_000,
      ttl_action: 'DELETE',
      created_ms: 1_700_000_000_000,
      mtime_ms: 1_700_000_000_123,
      fingerprint: 'etag-1',
      synced_ms: 1_700_000_000_456,
    });
    const file = store.insert(written);
    const expected = { id: file.id, ...written };
    // The driver's own objects (SELECT *) name every column the table has.
    const asStored = store.db.prepare('SELECT * FROM inodes WHERE id = ?').get(file.id);
    assert.deepEqual(file, asStored);
    assert.deepEqual(file, expected);
    assert.deepEqual(store.get(file.id), expected);
    assert.deepEqual(store.child(folder.id, 'a.png'), expected);
    assert.deepEqual(store.children(folder.id), [expected]);
    assert.deepEqual(store.filesToPersist(), [expected]);
    assert.deepEqual(store.filesWithTtl(), [expected]);
    assert.deepEqual(store.subtree(folder.id), [store.get(folder.id), expected]);
    assert.equal(store.get(file.id + 1000), undefined);
    assert.equal(store.child(folder.id, 'missing'), undefined);

    // Patches of different shapes, one shape used twice (its statement is kept and reused).
    store.update(file.id, { length: 1, mtime_ms: 2 });
    store.update(file.id, { state: 'PERSISTED' });
    store.update(file.id, { length: 3, mtime_ms: 4 });
    assert.deepEqual(store.get(file.id), { ...expected, length: 3, mtime_ms: 4, state: 'PERSISTED' });
    assert.deepEqual(store.filesToPersist(), []);
  } finally {
    store.db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
