/**
 * The POSIX mount with real programs: coreutils, tar, python3, fio, against a real FUSE mount
 * of a local cluster, unmounted in after() even when a test fails.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FuseEnv, sh } from '../helpers/fuse.js';
import { STRATA } from '../helpers/cli.js';

let f: FuseEnv;
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
let scripts = 0;
function python(code: string): ReturnType<typeof sh> {
  const file = join(f.env.dir, `script${++scripts}.py`);
  writeFileSync(file, code);
  return sh(`python3 ${file}`);
}

before(async () => {
  f = await FuseEnv.create({ props: { 'strata.user.file.writetype.default': 'CACHE_THROUGH', 'strata.user.block.size.bytes.default': '4MB' } });
});
after(async () => {
  await f?.cleanup();
});

test('fuse stat lists the mount; ls -l shows what strata fs ls shows', async () => {
  const st = await f.env.run(['fuse', 'stat']);
  assert.match(st.stdout, new RegExp(`^pid\\tmount_point\\tstrata_path\\n\\d+\\t${f.mnt}\\t/\\n$`));
  const local = join(f.env.dir, 'shell.bin');
  writeFileSync(local, randomBytes(5_000_000));
  assert.equal((await f.env.run(['fs', 'copyFromLocal', local, '/data/shell.bin'])).code, 0);
  mkdirSync(join(f.env.ufsRoot, 'data'), { recursive: true });
  writeFileSync(join(f.env.ufsRoot, 'data', 'ufs.bin'), randomBytes(3_000_000));
  const fsLs = (await f.env.run(['fs', 'ls', '-f', '/data'])).stdout.trim().split('\n');
  const ls = await sh(`ls -l --time-style=+%s.%N ${f.path('data')}`);
  assert.equal(ls.code, 0, ls.stderr);
  const byName = new Map(ls.stdout.trim().split('\n').slice(1).map((l) => {
    const p = l.split(/\s+/);
    return [p[6]!, { size: Number(p[4]), mtime: Math.floor(Number(p[5]) * 1000) }];
  }));
  assert.equal(fsLs.length, byName.size);
  for (const line of fsLs) {
    const m = /\s(\d+)\s+\S+ (\d\d)-(\d\d)-(\d{4}) (\d\d):(\d\d):(\d\d):(\d{3})\s+\S+ \/data\/(\S+)$/.exec(line)!;
    const entry = byName.get(m[9]!)!;
    assert.equal(entry.size, Number(m[1]), `size of ${m[9]}`);
    const t = new Date(Number(m[4]), Number(m[2]) - 1, Number(m[3]), Number(m[5]), Number(m[6]), Number(m[7]), Number(m[8])).getTime();
    assert.equal(entry.mtime, t, `mtime of ${m[9]}`);
  }
  for (const [name, src] of [['shell.bin', local], ['ufs.bin', join(f.env.ufsRoot, 'data', 'ufs.bin')]] as const) {
    const cmp = await sh(`cmp ${f.path(`data/${name}`)} ${src} && cat ${f.path(`data/${name}`)} | md5sum`);
    assert.equal(cmp.code, 0, cmp.stderr);
    assert.equal(cmp.stdout.split(' ')[0], md5(readFileSync(src)), `md5 of ${name}`);
  }
});

test('cp -r in and out; tar czf, copy in, tar xzf inside the mount, diff -r', async () => {
  const src = join(f.env.dir, 'tree');
  for (let i = 0; i < 20; i++) {
    mkdirSync(join(src, `d${i % 4}`, 'sub'), { recursive: true });
    writeFileSync(join(src, `d${i % 4}`, 'sub', `f${i}.bin`), randomBytes(1000 * i + 1));
  }
  let r = await sh(`cp -r ${src} ${f.path('copied')} && diff -r ${src} ${f.path('copied')} && cp -r ${f.path('copied')} ${f.env.dir}/out && diff -r ${src} ${f.env.dir}/out`);
  assert.equal(r.code, 0, r.stderr);
  r = await sh(`tar czf ${f.env.dir}/tree.tgz -C ${f.env.dir} tree && mkdir ${f.path('model')} && cp ${f.env.dir}/tree.tgz ${f.path('model')}/ && cd ${f.path('model')} && tar xzf tree.tgz && diff -r ${src} ${f.path('model/tree')}`);
  assert.equal(r.code, 0, r.stderr);
  const ls = await f.env.run(['fs', 'ls', '-R', '/model/tree']);
  assert.match(ls.stdout, /PERSISTED .* 100% \/model\/tree\/d0\/sub\/f0\.bin/);
});

test('python3 reads and writes with seek; random write, append, truncate, rename, rm -r', async () => {
  const py = `
import os
p = ${JSON.stringify(f.path('py'))}
os.makedirs(p, exist_ok=True)
with open(p + '/a.bin', 'wb') as fh:
    fh.write(b'0' * 1000)
    fh.seek(500); fh.write(b'MID')
    fh.seek(2000); fh.write(b'END')
with open(p + '/a.bin', 'r+b') as fh:
    fh.seek(10); fh.write(b'RW')
    fh.seek(0); head = fh.read(12)
with open(p + '/a.bin', 'ab') as fh:
    fh.write(b'APPENDED')
data = open(p + '/a.bin', 'rb').read()
assert head == b'0' * 10 + b'RW', head
assert data[500:503] == b'MID' and data[2000:2003] == b'END' and data.endswith(b'APPENDED') and len(data) == 2011, len(data)
assert data[1000:2000] == b'\\0' * 1000
os.truncate(p + '/a.bin', 5)
assert open(p + '/a.bin', 'rb').read() == b'00000'
os.rename(p + '/a.bin', p + '/b.bin')
assert not os.path.exists(p + '/a.bin') and open(p + '/b.bin', 'rb').read() == b'00000'
os.makedirs(p + '/x/y/z')
open(p + '/x/y/z/f', 'w').write('f')
os.rename(p + '/x', p + '/x2')
assert open(p + '/x2/y/z/f').read() == 'f'
print('ok')
`;
  const r = await python(py);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'ok');
  const info = await f.env.run(['fs', 'cat', '/py/b.bin']);
  assert.equal(info.stdout, '00000', 'the shell sees what the mount wrote');
  const rm = await sh(`rm -r ${f.path('py/x2')} && test ! -e ${f.path('py/x2')}`);
  assert.equal(rm.code, 0, rm.stderr);
  assert.equal((await f.env.run(['fs', 'test', '-e', '/py/x2'])).code, 1);
});

test('several readers of one file at once', async () => {
  const data = randomBytes(20_000_000);
  writeFileSync(join(f.env.dir, 'shared.bin'), data);
  await f.env.run(['fs', 'copyFromLocal', join(f.env.dir, 'shared.bin'), '/shared.bin']);
  await f.env.run(['fs', 'free', '/shared.bin']);
  // The worker drops the blocks at its next heartbeat: read once they are gone, so all is cold.
  for (let i = 0; i < 50 && !/inAlluxioPercentage=0,/.test((await f.env.run(['fs', 'stat', '/shared.bin'])).stdout); i++) await new Promise((res) => setTimeout(res, 100));
  const leasesBefore = await f.settledLeases();
  const r = await sh(`for i in 1 2 3 4 5 6; do md5sum ${f.path('shared.bin')} & done; wait`);
  const sums = r.stdout.trim().split('\n').map((l) => l.split(' ')[0]);
  assert.equal(sums.length, 6);
  for (const s of sums) assert.equal(s, md5(data));
  // The readers leased the fills they read from; closed, they hold nothing (too big to stay open).
  // (RELEASE reaches the mount just after close returns.)
  for (let i = 0; i < 50 && (await f.leasesHeld()) !== leasesBefore; i++) await new Promise((res) => setTimeout(res, 100));
  assert.equal(await f.leasesHeld(), leasesBefore);
  assert.match((await f.env.run(['fs', 'stat', '/shared.bin'])).stdout, /inAlluxioPercentage=100/);
});

test('a file written through the mount has the persistence state of the write type; xattrs show it', async () => {
  const r = await sh(`head -c 1000000 /dev/urandom > ${f.path('written.bin')}`);
  assert.equal(r.code, 0, r.stderr);
  const ls = await f.env.run(['fs', 'ls', '/written.bin']);
  assert.match(ls.stdout, /1000000\s+PERSISTED .* 100% \/written\.bin/);
  const x = await sh(`getfattr -d ${f.path('written.bin')}`);
  assert.match(x.stdout, /user\.strata\.persistence_state="PERSISTED"/);
  assert.match(x.stdout, /user\.strata\.cached_percent="100"/);
  assert.ok(x.stdout.includes(`user.strata.ufs_path="${join(f.env.ufsRoot, 'written.bin')}"`), x.stdout);
  // No labels or ACLs here: those namespaces are unsupported (ls -l then stops asking for each
  // file); another user name simply has no value.
  const other = await python(`
import os, errno
p = ${JSON.stringify(f.path('written.bin'))}
for name in ('security.selinux', 'system.posix_acl_access', 'user.other', 'user.strata.missing'):
    try:
        os.getxattr(p, name); print(name, 'found')
    except OSError as e:
        print(name, errno.errorcode[e.errno])
`);
  assert.equal(other.code, 0, other.stderr);
  assert.deepEqual(other.stdout.trim().split('\n'), ['security.selinux ENOTSUP', 'system.posix_acl_access ENOTSUP', 'user.other ENODATA', 'user.strata.missing ENODATA']);
});

test('errors map to errno: ENOENT, EEXIST, ENOTEMPTY, EISDIR', async () => {
  const py = `
import os, errno
p = ${JSON.stringify(f.path('err'))}
os.mkdir(p)
def code(fn):
    try:
        fn(); return 0
    except OSError as e:
        return errno.errorcode[e.errno]
print(code(lambda: open(p + '/missing')))
print(code(lambda: os.mkdir(p)))
open(p + '/f', 'w').write('x')
print(code(lambda: os.rmdir(p)))
print(code(lambda: os.unlink(p)))
print(code(lambda: os.open(p + '/f', os.O_CREAT | os.O_EXCL | os.O_WRONLY)))
`;
  const r = await python(py);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['ENOENT', 'EEXIST', 'ENOTEMPTY', 'EISDIR', 'EEXIST']);
});

test('a change made through the shell shows in the mount within the attr timeout', async () => {
  assert.equal(readdirSync(f.mnt).includes('later'), false);
  await f.env.run(['fs', 'mkdir', '/later']);
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(statSync(f.path('later')).isDirectory());
  await f.env.run(['fs', 'rm', '-R', '/later']);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(readdirSync(f.mnt).includes('later'), false);
});

test('fio sequential 1M and random 4k reads verify a file written through the mount', async () => {
  const file = f.path('fio.dat');
  const common = `--filename=${file} --size=32M --ioengine=psync --group_reporting`;
  let r = await sh(`fio --name=write --rw=write --bs=1M ${common} --verify=crc32c --do_verify=0 --verify_state_save=0`);
  assert.equal(r.code, 0, r.stderr);
  r = await sh(`fio --name=seqread --rw=read --bs=1M ${common} --verify=crc32c --verify_only --verify_state_load=0`);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout, /verify: bad/);
  r = await sh(`fio --name=rand --rw=randread --bs=4k --io_size=4M ${common}`);
  assert.equal(r.code, 0, r.stdout + r.stderr);
});

test('a new file written in order streams into Strata while it is written', async () => {
  const py = `
import os, time
p = ${JSON.stringify(f.path('streamed.bin'))}
with open(p, 'wb') as fh:
    fh.write(b'x' * 3000000)
    fh.flush()
    time.sleep(1.5)
    fh.write(b'y' * 1000)
print(os.path.getsize(p))
`;
  const writer = python(py);
  await new Promise((r) => setTimeout(r, 700));
  // Before close, Strata already has the file, still being written.
  const during = await f.env.run(['fs', 'stat', '/streamed.bin']);
  assert.match(during.stdout, /completed=false/);
  const r = await writer;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), '3001000');
  assert.equal((await f.env.run(['fs', 'tail', '-c', '3', '/streamed.bin'])).stdout, 'yyy');
  assert.match((await f.env.run(['fs', 'stat', '/streamed.bin'])).stdout, /completed=true, .*length=3001000|length=3001000.*completed=true/);
});

test('a cached file open many times at once (passthrough); a writer meanwhile is told ETXTBSY; a replaced file is a new inode', async () => {
  // Bigger than the warm-handle limit, so each open gets a handle of its own.
  const v1 = randomBytes(20_000_000);
  const v2 = randomBytes(300_000);
  writeFileSync(join(f.env.dir, 'v1.bin'), v1);
  writeFileSync(join(f.env.dir, 'v2.bin'), v2);
  assert.equal((await f.env.run(['fs', 'copyFromLocal', join(f.env.dir, 'v1.bin'), '/many-open.bin'])).code, 0);
  const py = `
import os, hashlib, subprocess
p = ${JSON.stringify(f.path('many-open.bin'))}
fds = [os.open(p, os.O_RDONLY) for _ in range(4)]
print(all(hashlib.md5(os.pread(fd, 30000000, 0)).hexdigest() == ${JSON.stringify(md5(v1))} for fd in fds))
try:
    os.open(p, os.O_WRONLY)
    print('write open allowed')
except OSError as e:
    print(e.strerror)
strata = ${JSON.stringify(STRATA)}
env = dict(os.environ, STRATA_CONF_DIR=${JSON.stringify(f.env.confDir)})
subprocess.run([strata, 'fs', 'rm', '/many-open.bin'], check=True, capture_output=True, env=env)
subprocess.run([strata, 'fs', 'copyFromLocal', ${JSON.stringify(join(f.env.dir, 'v2.bin'))}, '/many-open.bin'], check=True, capture_output=True, env=env)
import time; time.sleep(1.2)
st_old = os.fstat(fds[0])
print(hashlib.md5(open(p, 'rb').read()).hexdigest() == ${JSON.stringify(md5(v2))})
print(os.stat(p).st_ino != st_old.st_ino)
print(hashlib.md5(os.pread(fds[1], 30000000, 0)).hexdigest() == ${JSON.stringify(md5(v1))})
`;
  const r = await python(py);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['True', 'Text file busy', 'True', 'True', 'True']);
});

/** How many times the master has done an operation (its strata_master_operations_total). */
async function masterOps(op: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${f.env.props['strata.master.web.port']}/metrics`)).text();
  const m = new RegExp(`strata_master_operations_total\\{op="${op}"[^}]*\\} (\\d+)`).exec(text);
  return m ? Number(m[1]) : 0;
}

test('files opened by name in a folder the mount never listed cost one listing, not a status call each', async () => {
  mkdirSync(join(f.env.ufsRoot, 'byname'));
  const files = Array.from({ length: 60 }, (_, i) => `f${i}`);
  for (const name of files) writeFileSync(join(f.env.ufsRoot, 'byname', name), name);
  // The master knows the folder (its size tells the mount it is small), the mount does not.
  assert.equal((await f.env.run(['fs', 'ls', '/byname'])).code, 0);
  const statusCalls = () => masterOps('getStatus');
  const before = await statusCalls();
  assert.ok(before > 0, 'the master counts its getStatus calls');
  const r = await sh(`cd ${f.path('byname')} && cat ${files.join(' ')}`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, files.join(''));
  const calls = (await statusCalls()) - before;
  assert.ok(calls <= 6, `${calls} status calls for ${files.length} files opened by name`);
});

test('a cold file mapped by one reader while it fills: another reader opening it whole meanwhile reads it too', async () => {
  const data = randomBytes(6 * 1024 * 1024 + 3);
  writeFileSync(join(f.env.ufsRoot, 'mapped-cold.bin'), data);
  const path = f.path('mapped-cold.bin');
  // The first open is cold (around the page cache); its shared mapping puts the inode in the
  // kernel's cached io mode, so the second open, of a file now wholly cached, must not be
  // passthrough (the kernel would refuse it with EIO).
  const r = await python(`
import mmap, hashlib, time
a = open(${JSON.stringify(path)}, "rb")
m = mmap.mmap(a.fileno(), 0, access=mmap.ACCESS_READ)
print(hashlib.md5(m[:]).hexdigest())
time.sleep(2.5)  # past the metadata expiry: the mount now knows the file is cached whole
with open(${JSON.stringify(path)}, "rb") as b:
    print(hashlib.md5(b.read()).hexdigest())
m.close()
a.close()
`);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [md5(data), md5(data)]);
});

test('names probed in a folder just listed are asked for one by one, not by listing the folder again', async () => {
  mkdirSync(join(f.env.ufsRoot, 'probed'));
  for (let i = 0; i < 40; i++) writeFileSync(join(f.env.ufsRoot, 'probed', `m${i}.py`), '');
  const before = await masterOps('listStatus');
  const dir = f.path('probed');
  // What an import does: list, then look for names that are not there.
  const r = await python(`
import os
print(len(os.listdir(${JSON.stringify(dir)})))
print(sum(os.path.exists(os.path.join(${JSON.stringify(dir)}, f"absent{i}.so")) for i in range(30)))
`);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['40', '0']);
  const listings = (await masterOps('listStatus')) - before;
  assert.ok(listings <= 3, `${listings} listings for one listdir and 30 names probed`);
});
