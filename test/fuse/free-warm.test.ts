/**
 * `fs free` of files a mount keeps open between opens (warm handles, each under a worker lease,
 * kept a minute by default): the mount lets them go within seconds, so the worker gives their
 * room back and the files read (and cache) afresh; a file a program has open keeps its bytes
 * until it is closed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { FuseEnv } from '../helpers/fuse.js';

let f: FuseEnv;

before(async () => {
  f = await FuseEnv.create({ props: { 'strata.user.file.writetype.default': 'CACHE_THROUGH' } });
});
after(async () => {
  await f?.cleanup();
});

async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    assert.ok(Date.now() < deadline, `not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('freed files the mount keeps open are let go within seconds, and then read afresh', async () => {
  const files = Array.from({ length: 3 }, (_, i) => ({ name: `kept${i}.bin`, data: randomBytes(200_000 + i) }));
  for (const x of files) await f.copyIn(x.name, x.data);
  for (const x of files) assert.deepEqual(readFileSync(f.path(x.name)), x.data);
  assert.equal(await f.leasesHeld(), files.length, 'each file read is kept open (leased)');
  const cached = await f.cachedBytes();
  assert.ok(cached >= 600_000, `cached ${cached} bytes`);

  for (const x of files) assert.equal((await f.env.run(['fs', 'free', `/${x.name}`])).code, 0);
  await until('the mount lets go of the freed files', async () => (await f.leasesHeld()) === 0);
  await until('the worker gives their room back', async () => (await f.cachedBytes()) <= cached - 600_000);

  // Read again from the UFS, and cached again.
  for (const x of files) assert.deepEqual(readFileSync(f.path(x.name)), x.data);
  await until('read again, they are cached again', async () => (await f.cachedBytes()) >= cached);
});

test('a freed file that a program holds open keeps its bytes until it is closed', async () => {
  const data = randomBytes(150_000);
  await f.copyIn('held.bin', data);
  assert.deepEqual(readFileSync(f.path('held.bin')), data);
  // The files of the test before stay warm (a minute, leased in the background after their cold
  // reads): counted with this one's.
  const held = await f.settledLeases();
  // Opens the file, says so, reads all of it whenever a line comes in, until stdin closes.
  const py = `
import os, sys, hashlib
fd = os.open(sys.argv[1], os.O_RDONLY)
print('open', flush=True)
for _ in sys.stdin:
    print(hashlib.sha256(os.pread(fd, 1 << 20, 0)).hexdigest(), flush=True)
os.close(fd)
`;
  writeFileSync(join(f.env.dir, 'hold.py'), py);
  const child = spawn('python3', [join(f.env.dir, 'hold.py'), f.path('held.bin')], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const lines: string[] = [];
  const complete = () => lines.splice(0, lines.length, ...out.split('\n').slice(0, -1));
  const nextLine = async (n: number) => until(`line ${n} from the reader`, async () => complete().length >= n, 5000);
  try {
    await nextLine(1);
    assert.equal((await f.env.run(['fs', 'free', '/held.bin'])).code, 0);
    await new Promise((r) => setTimeout(r, 4500)); // two polls of the workers
    assert.equal(await f.leasesHeld(), held, 'the open file keeps its lease');
    child.stdin.write('read\n');
    await nextLine(2);
    assert.equal(lines[1], createHash('sha256').update(data).digest('hex'), 'the open file still reads right');
  } finally {
    child.stdin.end();
    await new Promise((r) => child.once('exit', r));
  }
  await until('closed, the freed file is let go', async () => (await f.leasesHeld()) === held - 1);
});
