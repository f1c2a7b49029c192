/**
 * Files read through the mount stay open (leased) for a while after their last close, so the
 * next epoch of a training job opens them without a worker round trip; a replaced file is
 * never served from the old handle, and idle handles let go of their leases. Files a folder
 * prefetch loaded are leased ahead of their readers, and opened natively from the first open.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FuseEnv, sh } from '../helpers/fuse.js';

let f: FuseEnv;

type Counts = Record<string, { main: number; readers: number }>;
async function requests(): Promise<Counts> {
  const r = await sh(`python3 -c 'import os, sys; sys.stdout.write(os.getxattr(sys.argv[1], "user.strata.requests").decode())' ${f.mnt}`);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Counts;
}

before(async () => {
  f = await FuseEnv.create({ props: { 'strata.fuse.open.cache.idle': '3s', 'strata.user.file.writetype.default': 'CACHE_THROUGH' } });
});
after(async () => {
  await f?.cleanup();
});

test('a closed file keeps its lease until idle; reopening reuses it; then it is let go', async () => {
  const files = Array.from({ length: 5 }, (_, i) => ({ name: `f${i}.bin`, data: randomBytes(50_000 + i) }));
  for (const x of files) writeFileSync(join(f.env.dir, x.name), x.data);
  await f.env.run(['fs', 'mkdir', '/warm']);
  for (const x of files) assert.equal((await f.env.run(['fs', 'copyFromLocal', join(f.env.dir, x.name), `/warm/${x.name}`])).code, 0);
  assert.equal(await f.leasesHeld(), 0);
  for (let epoch = 0; epoch < 3; epoch++) {
    for (const x of files) assert.deepEqual(readFileSync(f.path(`warm/${x.name}`)), x.data);
    // All closed, all still leased: one lease per file, however many times it was opened.
    assert.equal(await f.leasesHeld(), files.length, `epoch ${epoch}`);
  }
  const deadline = Date.now() + 10_000;
  while ((await f.leasesHeld()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.equal(await f.leasesHeld(), 0, 'idle handles released their leases');
});

test('a file replaced under the same name is read afresh, not from the warm handle', async () => {
  const a = randomBytes(70_000);
  const b = randomBytes(90_000);
  writeFileSync(join(f.env.dir, 'a'), a);
  writeFileSync(join(f.env.dir, 'b'), b);
  assert.equal((await f.env.run(['fs', 'copyFromLocal', join(f.env.dir, 'a'), '/swap'])).code, 0);
  assert.deepEqual(readFileSync(f.path('swap')), a);
  assert.equal((await f.env.run(['fs', 'rm', '/swap'])).code, 0);
  assert.equal((await f.env.run(['fs', 'copyFromLocal', join(f.env.dir, 'b'), '/swap'])).code, 0);
  await new Promise((r) => setTimeout(r, 1200)); // past the attr and metadata timeouts
  assert.deepEqual(readFileSync(f.path('swap')), b);
  // And the same through a write on the mount itself.
  writeFileSync(f.path('swap'), a);
  assert.deepEqual(readFileSync(f.path('swap')), a);
});

test('opens of a warm file answered by the native reader threads read it right; a write waits for them, then is seen', async () => {
  const a = randomBytes(60_000);
  const b = randomBytes(50_000);
  writeFileSync(join(f.env.dir, 'n'), a);
  assert.equal((await f.env.run(['fs', 'copyFromLocal', join(f.env.dir, 'n'), '/native.bin'])).code, 0);
  // The first open warms the handle; the ones after it are answered natively, many at once too.
  for (let i = 0; i < 20; i++) assert.deepEqual(readFileSync(f.path('native.bin')), a);
  const many = await sh(`for i in $(seq 1 40); do md5sum ${f.path('native.bin')} & done; wait`);
  assert.deepEqual(new Set(many.stdout.trim().split('\n').map((l) => l.split(' ')[0])), new Set([createHash('md5').update(a).digest('hex')]));
  // A write open waits a moment for passthrough readers to close (their RELEASE can come after
  // it), and is refused as busy if they stay open.
  const py = `
import os, threading, time
p = ${JSON.stringify(f.path('native.bin'))}
r = os.open(p, os.O_RDONLY)
try:
    os.open(p, os.O_WRONLY)
    print('write open allowed')
except OSError as e:
    print(e.strerror)
print(len(os.pread(r, 100000, 0)))
threading.Timer(0.2, os.close, [r]).start()
t = time.monotonic()
os.close(os.open(p, os.O_WRONLY))
print('write open after the close' if time.monotonic() - t >= 0.15 else 'write open before the close')
`;
  writeFileSync(join(f.env.dir, 'n.py'), py);
  const r = await sh(`python3 ${join(f.env.dir, 'n.py')}`);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['Text file busy', String(a.length), 'write open after the close']);
  // A program's close returns before its RELEASE reaches the mount: a write right after it goes ahead.
  assert.deepEqual(readFileSync(f.path('native.bin')), a);
  writeFileSync(f.path('native.bin'), b);
  for (let i = 0; i < 5; i++) assert.deepEqual(readFileSync(f.path('native.bin')), b);
});

test('a write open, and a truncate, are not held off for ever by readers that keep opening the file', async () => {
  const a = randomBytes(40_000);
  const b = randomBytes(30_000);
  writeFileSync(join(f.env.dir, 'busy'), a);
  for (const name of ['busy.bin', 'cut.bin']) {
    assert.equal((await f.env.run(['fs', 'copyFromLocal', join(f.env.dir, 'busy'), `/${name}`])).code, 0);
    for (let i = 0; i < 3; i++) assert.deepEqual(readFileSync(f.path(name)), a);
  }
  // Two readers, each holding an open 60 ms and opening again at once, a half-period apart:
  // from their start on, the file is never without a reader. The change comes in between.
  const py = `
import os, threading, time
def under_readers(p, change):
    stop = time.monotonic() + 1.6
    sizes = set()
    def reader(delay):
        time.sleep(delay)
        while time.monotonic() < stop:
            fd = os.open(p, os.O_RDONLY)
            sizes.add(len(os.pread(fd, 100000, 0)))
            time.sleep(0.06)
            os.close(fd)
    ts = [threading.Thread(target=reader, args=(d,)) for d in (0, 0.03)]
    for t in ts: t.start()
    time.sleep(0.4)
    t0 = time.monotonic()
    try:
        change(p)
        print('done after %d ms' % ((time.monotonic() - t0) * 1000), end=' ')
    except OSError as e:
        print(e.strerror, end=' ')
    for t in ts: t.join()
    print(sorted(sizes))
def write(p):
    fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
    os.write(fd, bytes.fromhex(${JSON.stringify(b.toString('hex'))}))
    os.close(fd)
under_readers(${JSON.stringify(f.path('busy.bin'))}, write)
under_readers(${JSON.stringify(f.path('cut.bin'))}, lambda p: os.truncate(p, 10000))
`;
  writeFileSync(join(f.env.dir, 'busy.py'), py);
  const r = await sh(`python3 ${join(f.env.dir, 'busy.py')}`);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  // Each line: how the change went, then the sizes its readers saw: the old bytes, the new ones,
  // or (between O_TRUNC and the write) none.
  for (const [i, sizes] of [[0, [0, a.length, b.length]], [1, [10000, a.length]]] as const) {
    const m = /^done after (\d+) ms (\[.*\])$/.exec(lines[i] ?? '');
    assert.ok(m && Number(m[1]) < 1000, `${i === 0 ? 'write open' : 'truncate'}: ${lines[i]}`);
    assert.ok((JSON.parse(m[2]!) as number[]).every((n) => (sizes as readonly number[]).includes(n)), lines[i]);
  }
  await new Promise((res) => setTimeout(res, 1200));
  assert.deepEqual(readFileSync(f.path('busy.bin')), b);
  assert.deepEqual(readFileSync(f.path('cut.bin')), a.subarray(0, 10000));
});

/** A folder of 12 files written through to the UFS, then out of the cache: it reads cold. */
async function coldFolder(name: string): Promise<Buffer[]> {
  const data = Array.from({ length: 12 }, (_, i) => randomBytes(20_000 + i));
  mkdirSync(f.path(name));
  data.forEach((d, i) => writeFileSync(f.path(`${name}/f${i}`), d));
  assert.equal((await f.env.run(['fs', 'free', `/${name}`])).code, 0);
  await new Promise((r) => setTimeout(r, 1200)); // past the mount's metadata expiry
  return data;
}

test('files a folder prefetch loaded ahead are opened by the reader threads from their first open', async () => {
  const data = await coldFolder('pf');
  // Cold opens (two, by default) start the folder's prefetch; the mount leases each file as it is loaded.
  for (let i = 0; i < 4; i++) assert.deepEqual(readFileSync(f.path(`pf/f${i}`)), data[i]);
  const rest = data.slice(4);
  const percents = async () => {
    const py = `import os\nfor i in range(4, ${data.length}): print(os.getxattr(${JSON.stringify(f.path('pf'))} + f"/f{i}", "user.strata.cached_percent").decode())`;
    writeFileSync(`${f.env.dir}/percents.py`, py);
    return (await sh(`python3 ${f.env.dir}/percents.py`)).stdout.trim().split('\n');
  };
  const deadline = Date.now() + 15_000;
  while ((await percents()).some((p) => p !== '100')) {
    assert.ok(Date.now() < deadline, `not loaded ahead: ${(await percents()).join(' ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // The mount follows the worker's loads every 50 ms and leases what came in, in batches (and
  // keeps them 3 s here: time enough for the checks above on a busy machine).
  await new Promise((r) => setTimeout(r, 300));
  const before = (await requests()).OPEN ?? { main: 0, readers: 0 };
  rest.forEach((d, i) => assert.deepEqual(readFileSync(f.path(`pf/f${i + 4}`)), d));
  const after = (await requests()).OPEN ?? { main: 0, readers: 0 };
  assert.equal(after.readers - before.readers, rest.length, `opens answered by the reader threads (main thread: ${after.main - before.main})`);
  assert.equal(after.main - before.main, 0, 'opens that reached the main thread');
});

test('unmounting lets go of every lease the mount held', async () => {
  const data = randomBytes(40_000);
  writeFileSync(join(f.env.dir, 'u'), data);
  assert.equal((await f.env.run(['fs', 'copyFromLocal', join(f.env.dir, 'u'), '/unmount.bin'])).code, 0);
  const second = join(f.env.dir, 'second');
  assert.equal((await f.env.run(['fuse', 'mount', second, '/'])).code, 0);
  // What the first mount keeps from earlier tests goes once idle (3 s here).
  for (let i = 0; i < 50 && (await f.leasesHeld()) > 0; i++) await new Promise((r) => setTimeout(r, 200));
  const before = await f.leasesHeld();
  for (let i = 0; i < 3; i++) assert.deepEqual(readFileSync(join(second, 'unmount.bin')), data);
  assert.equal(await f.leasesHeld(), before + 1, 'the second mount keeps the file open between opens');
  assert.equal((await f.env.run(['fuse', 'umount', second])).code, 0);
  assert.equal(await f.leasesHeld(), before, 'and lets it go when unmounted');
});

test('once every file of a prefetched folder was opened, the mount stops asking the worker what it loaded', async () => {
  const data = await coldFolder('quiet');
  // Read cold in parallel: the first cold opens start the prefetch while others are filled by their readers.
  await Promise.all(data.map(async (d, i) => assert.deepEqual(await readFile(f.path(`quiet/f${i}`)), d)));
  const polls = () => f.workerRequests('GET /api/v1/prefetch/loaded');
  const deadline = Date.now() + 10_000;
  for (;;) {
    const before = await polls();
    await new Promise((r) => setTimeout(r, 1000));
    const during = (await polls()) - before;
    if (during <= 1) break;
    assert.ok(Date.now() < deadline, `the mount still polls the worker ${during} times a second, with no file left to wait for`);
  }
});
