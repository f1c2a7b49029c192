/**
 * Without passthrough, READs of wholly cached files are answered by the mount's native reader
 * threads straight from the cache file. Their bytes must be exactly the file's at any offset and
 * size, with many readers at once, up to and past the end of the file.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FuseEnv, sh } from '../helpers/fuse.js';

let f: FuseEnv;
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

before(async () => {
  f = await FuseEnv.create({
    props: { 'strata.user.file.writetype.default': 'MUST_CACHE', 'strata.user.block.size.bytes.default': '4MB', 'strata.fuse.reader.threads': '3' },
    mountArgs: ['-o', 'no_passthrough'],
  });
});
after(async () => {
  await f?.cleanup();
});

test('a wholly cached file reads back exactly, by many readers at once', async () => {
  // Several blocks, and a length that ends mid-page.
  const data = randomBytes(13 * 1024 * 1024 + 1234);
  await f.copyIn('big.bin', data);
  const r = await sh(`for i in 1 2 3 4 5 6 7 8; do md5sum ${f.path('big.bin')} & done; wait`);
  assert.equal(r.code, 0, r.stderr);
  const sums = r.stdout.trim().split('\n').map((l) => l.split(' ')[0]);
  assert.deepEqual(sums, Array(8).fill(md5(data)));
});

test('reads at odd offsets and sizes, and past the end, return the right bytes', async () => {
  const data = randomBytes(3 * 1024 * 1024 + 77);
  await f.copyIn('odd.bin', data);
  const py = `
import os, sys, hashlib
fd = os.open(${JSON.stringify(f.path("odd.bin"))}, os.O_RDONLY)
out = []
for off, size in [(0, 1), (1, 4095), (4095, 2), (1048575, 1048577), (3*1048576 - 5, 100), (3*1048576 + 76, 10), (3*1048576 + 77, 10), (10**9, 10)]:
    b = os.pread(fd, size, off)
    out.append(f"{off} {len(b)} {hashlib.md5(b).hexdigest()}")
print("\\n".join(out))
`;
  const file = join(f.env.dir, 'odd.py');
  writeFileSync(file, py);
  const r = await sh(`python3 ${file}`);
  assert.equal(r.code, 0, r.stderr);
  const expected = [[0, 1], [1, 4095], [4095, 2], [1048575, 1048577], [3 * 1048576 - 5, 100], [3 * 1048576 + 76, 10], [3 * 1048576 + 77, 10], [1e9, 10]].map(([off, size]) => {
    const b = data.subarray(Math.min(off!, data.length), Math.min(off! + size!, data.length));
    return `${off} ${b.length} ${md5(b)}`;
  });
  assert.deepEqual(r.stdout.trim().split('\n'), expected);
});

test('fio verifies a file written through the mount and read back from the cache', async () => {
  const file = f.path('fio.dat');
  const common = `--filename=${file} --size=24M --ioengine=psync --group_reporting`;
  let r = await sh(`fio --name=write --rw=write --bs=1M ${common} --verify=crc32c --do_verify=0 --verify_state_save=0`);
  assert.equal(r.code, 0, r.stderr);
  r = await sh(`fio --name=read --rw=read --bs=1M --numjobs=4 ${common} --verify=crc32c --verify_only --verify_state_load=0`);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout, /verify: bad/);
  r = await sh(`fio --name=rand --rw=randread --bs=4k --io_size=4M --numjobs=2 ${common}`);
  assert.equal(r.code, 0, r.stdout + r.stderr);
});

test('a file opened many times over, closed between, keeps reading right', async () => {
  const data = randomBytes(300_000);
  await f.copyIn('again.bin', data);
  const r = await sh(`for i in $(seq 1 50); do cat ${f.path('again.bin')} | md5sum; done | sort -u`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split(' ')[0], md5(data));
  assert.equal(r.stdout.trim().split('\n').length, 1);
});
