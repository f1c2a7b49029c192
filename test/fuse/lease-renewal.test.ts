/**
 * A file held open through the mount longer than the workers' lease timeout keeps its lease:
 * the mount renews it, so the worker never evicts (and punches) bytes a reader still reads.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FuseEnv, sh } from '../helpers/fuse.js';

const MB = 1024 * 1024;
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
let f: FuseEnv;

before(async () => {
  f = await FuseEnv.create({
    props: {
      'strata.user.file.writetype.default': 'CACHE_THROUGH',
      'strata.user.block.size.bytes.default': '4MB',
      'strata.worker.tieredstore.level0.dirs.quota': '8MB',
      'strata.worker.shortcircuit.lease.timeout': '3s',
    },
  });
});
after(async () => {
  await f?.cleanup();
});

test('a file open past the lease timeout is not evicted under its reader', async () => {
  const held = randomBytes(4 * MB);
  await f.copyIn('held.bin', held);
  const script = join(f.env.dir, 'hold.py');
  writeFileSync(
    script,
    `
import hashlib, sys, time
with open(${JSON.stringify(f.path('held.bin'))}, "rb") as fh:
    fh.read(1)
    print("open", flush=True)
    time.sleep(7)
    fh.seek(0)
    print(hashlib.md5(fh.read()).hexdigest())
`,
  );
  const reader = sh(`python3 ${script}`, { timeoutMs: 30_000 });
  // Well past the 3 s timeout, two more files need the whole cache: only the held file's lease
  // keeps it from being the one evicted.
  await new Promise((r) => setTimeout(r, 4500));
  await f.copyIn('b.bin', randomBytes(4 * MB));
  await f.copyIn('c.bin', randomBytes(4 * MB));
  const r = await reader;
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['open', md5(held)]);
  const ls = await f.env.run(['fs', 'ls', '/held.bin']);
  assert.match(ls.stdout, /100%/, 'the held file is still cached');
});
