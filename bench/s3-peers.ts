/**
 * POSIX mounts of an S3 bucket that the S3 benchmark reads beside Strata: rclone (VFS cache
 * "full") and s3fs (use_cache), each where installed, each mounted under a temporary folder with
 * its own fresh cache folder and unmounted (fusermount -u, then the process killed) by stop().
 * Strata's own FUSE mount fits the same shape: add a MountSpec whose start() runs
 * `strata fuse mount` (see s3-read.ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopChild } from '../src/bench/stop-child.js';

export interface S3Target {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface PosixMount {
  /** Folder where the bucket's root appears. */
  dir: string;
  stop(): Promise<void>;
}

export interface MountSpec {
  name: string;
  available(): boolean;
  start(target: S3Target): Promise<PosixMount>;
}

const onPath = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

function isMounted(dir: string): boolean {
  return readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === dir);
}

async function waitMounted(dir: string, child: ChildProcess, name: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!isMounted(dir)) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} before mounting`);
    if (Date.now() > deadline) throw new Error(`${name} did not mount ${dir} within 20 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs a foreground FUSE daemon; stop() unmounts, ends it and removes its folders. */
async function foregroundMount(name: string, argv: string[], env: NodeJS.ProcessEnv, dir: string, work: string): Promise<PosixMount> {
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await waitMounted(dir, child, name);
  } catch (err) {
    child.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}: ${stderr.slice(-500)}`);
  }
  return {
    dir,
    async stop() {
      if (isMounted(dir)) spawnSync('fusermount', ['-u', dir]);
      if (isMounted(dir)) spawnSync('fusermount', ['-uz', dir]);
      await stopChild(child, 5000);
      rmSync(work, { recursive: true, force: true });
    },
  };
}

export const rclone: MountSpec = {
  name: 'rclone mount (vfs full)',
  available: () => onPath('rclone') && existsSync('/dev/fuse'),
  async start(t) {
    const work = mkdtempSync(join(tmpdir(), 'strata-bench-rclone-'));
    const dir = join(work, 'mnt');
    mkdirSync(dir);
    const conf = join(work, 'rclone.conf');
    writeFileSync(
      conf,
      `[bench]\ntype = s3\nprovider = Other\nendpoint = ${t.endpoint}\naccess_key_id = ${t.accessKeyId}\nsecret_access_key = ${t.secretAccessKey}\nforce_path_style = true\n`,
      { mode: 0o600 },
    );
    const env = { ...process.env };
    delete env.AWS_CA_BUNDLE; // rclone 1.60 fails on it
    return foregroundMount(
      'rclone',
      ['rclone', '--config', conf, 'mount', `bench:${t.bucket}`, dir, '--vfs-cache-mode', 'full', '--cache-dir', join(work, 'cache')],
      env,
      dir,
      work,
    );
  },
};

export const s3fs: MountSpec = {
  name: 's3fs (use_cache)',
  available: () => onPath('s3fs') && existsSync('/dev/fuse'),
  async start(t) {
    const work = mkdtempSync(join(tmpdir(), 'strata-bench-s3fs-'));
    const dir = join(work, 'mnt');
    const cache = join(work, 'cache');
    mkdirSync(dir);
    mkdirSync(cache);
    const passwd = join(work, 'passwd');
    writeFileSync(passwd, `${t.accessKeyId}:${t.secretAccessKey}\n`);
    chmodSync(passwd, 0o600);
    return foregroundMount(
      's3fs',
      ['s3fs', t.bucket, dir, '-f', '-o', `passwd_file=${passwd}`, '-o', `url=${t.endpoint}`, '-o', 'use_path_request_style', '-o', `use_cache=${cache}`],
      process.env,
      dir,
      work,
    );
  },
};
