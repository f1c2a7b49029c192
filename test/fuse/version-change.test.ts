/**
 * A file whose bytes change under the same inode (in the UFS, seen by a metadata sync) while a
 * reader holds the old version open in passthrough: the kernel takes no open of another backing
 * file on that inode until the old one closes, so new opens wait for the close, then read the
 * new bytes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { FuseEnv } from '../helpers/fuse.js';

let f: FuseEnv;

before(async () => {
  f = await FuseEnv.create({ props: { 'strata.user.file.metadata.sync.interval': '0', 'strata.user.file.writetype.default': 'CACHE_THROUGH' } });
});
after(async () => {
  await f?.cleanup();
});

test('opens of a new version wait for the old version\'s reader to close, then all read the new bytes', async () => {
  const a = randomBytes(40_000);
  const b = randomBytes(45_000);
  writeFileSync(join(f.env.dir, 'v1'), a);
  writeFileSync(join(f.env.dir, 'v2'), b);
  assert.equal((await f.env.run(['fs', 'copyFromLocal', join(f.env.dir, 'v1'), '/versions.bin'])).code, 0);
  const old = await open(f.path('versions.bin'), 'r');
  try {
    assert.deepEqual((await old.read(Buffer.alloc(a.length), 0, a.length, 0)).buffer, a);
    writeFileSync(join(f.env.ufsRoot, 'versions.bin'), b);
    await new Promise((r) => setTimeout(r, 1200)); // past the attr and metadata timeouts
    // The kernel takes no open of another backing file while the old one is open in
    // passthrough: these opens wait for its close, and the second, while the first is
    // still open, joins it.
    const closing = new Promise((r) => setTimeout(r, 200)).then(() => old.close());
    const t = Date.now();
    const handles = await Promise.all([open(f.path('versions.bin'), 'r'), open(f.path('versions.bin'), 'r')]);
    assert.ok(Date.now() - t >= 150, 'the opens waited for the close');
    await closing;
    try {
      for (const h of handles) assert.deepEqual(await h.readFile(), b);
    } finally {
      for (const h of handles) await h.close();
    }
  } finally {
    await old.close().catch(() => undefined);
  }
});
