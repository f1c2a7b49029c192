/**
 * The benchmarks' page-cache eviction: a dataset's pages leave the page cache, as `fincore`
 * (util-linux, mincore(2) on a mapping of the file) sees them; other files' pages stay.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evictFromPageCache } from '../../src/bench/page-cache.js';
import { isMemoryBacked } from '../../src/common/memory-fs.js';

const residentBytes = (path: string): number => Number(execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', path], { encoding: 'utf8' }).trim());

test('evictFromPageCache drops the pages of the files named, and only theirs', async () => {
  // tmpfs keeps its pages whatever is advised: the files must be on a disk.
  const dir = mkdtempSync(join(isMemoryBacked(tmpdir()) ? process.cwd() : tmpdir(), 'strata-evict-'));
  try {
    const [a, b] = [join(dir, 'a'), join(dir, 'b')];
    for (const p of [a, b]) {
      writeFileSync(p, randomBytes(4 << 20));
      readFileSync(p);
    }
    assert.ok(residentBytes(a) > 0 && residentBytes(b) > 0, 'both files were read into the page cache');
    await evictFromPageCache([a], 0);
    assert.equal(residentBytes(a), 0);
    assert.equal(residentBytes(b), 4 << 20);
    await assert.rejects(evictFromPageCache([join(dir, 'missing')], 0), { code: 'ENOENT' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
