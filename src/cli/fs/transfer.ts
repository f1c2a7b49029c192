/** fs copyFromLocal and copyToLocal: files and whole folders between local disk and Strata. */
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { StrataError, toStrataError } from '../../common/errors.js';
import { joinPath } from '../../common/paths.js';
import type { CliContext } from '../context.js';
import { progressBar } from '../progress.js';
import { copyTarget, filesUnder, forEachLimit } from './walk.js';

interface LocalFile {
  local: string;
  remote: string;
  size: number;
}

async function localTree(src: string, dst: string): Promise<{ files: LocalFile[]; dirs: string[] }> {
  const st = await stat(src).catch((err: unknown) => {
    throw toStrataError(err, `Local path ${src} cannot be read`);
  });
  if (!st.isDirectory()) return { files: [{ local: src, remote: dst, size: st.size }], dirs: [] };
  const files: LocalFile[] = [];
  const dirs = [dst];
  for (const entry of await readdir(src, { withFileTypes: true })) {
    const sub = await localTree(join(src, entry.name), joinPath(dst, entry.name));
    files.push(...sub.files);
    dirs.push(...sub.dirs);
  }
  return { files, dirs };
}

export function registerTransfer(fs: Command, ctx: () => CliContext): void {
  fs.command('copyFromLocal')
    .alias('put')
    .description('Copy a local file or folder into Strata')
    .argument('<src>', 'local file or folder')
    .argument('<dst>', 'Strata path')
    .option('--thread <n>', 'files copied at once')
    .option('--buffersize <size>', 'ignored; kept for Alluxio compatibility')
    .action(async (src: string, dst: string, o: { thread?: string }) => {
      const c = ctx();
      const local = resolve(src);
      const target = await copyTarget(c.fs, basename(local), dst);
      const { files, dirs } = await localTree(local, target);
      const threads = o.thread ? Number(o.thread) : c.conf.getInt('strata.user.file.copyfromlocal.threads');
      if (!Number.isInteger(threads) || threads < 1) throw new StrataError('INVALID_ARGUMENT', `--thread must be a positive integer, got ${o.thread}`);
      for (const d of dirs) await c.fs.createDirectory(d, { recursive: true, allowExists: true });
      const bar = progressBar(files.reduce((s, f) => s + f.size, 0), 'Copying', 'MB', (n) => Math.round(n / 1e5) / 10);
      try {
        await forEachLimit(files, threads, async (f) => {
          const out = await c.fs.createFile(f.remote, { recursive: true });
          const input = createReadStream(f.local, { highWaterMark: 4 << 20 });
          input.on('data', (chunk) => bar.tick(chunk.length));
          await pipeline(input, out.asWritable()).catch((err: unknown) => {
            throw toStrataError(err, `Copying ${f.local} to ${f.remote}`);
          });
          c.out(`Copied file://${f.local} to ${f.remote}`);
        });
      } finally {
        bar.stop();
      }
    });

  fs.command('copyToLocal')
    .alias('get')
    .description('Copy a Strata file or folder to local disk')
    .argument('<src>', 'Strata path')
    .argument('<dst>', 'local path')
    .action(async (src: string, dst: string) => {
      const c = ctx();
      const info = await c.fs.getStatus(src);
      let local = resolve(dst);
      const st = await stat(local).catch(() => undefined);
      if (st?.isDirectory()) local = join(local, info.name || 'root');
      const files = await filesUnder(c.fs, info.path);
      if (info.folder) {
        for (const d of (await c.fs.listStatus(info.path, { recursive: true })).filter((f) => f.folder)) {
          await mkdir(join(local, d.path.slice(info.path.length)), { recursive: true });
        }
        await mkdir(local, { recursive: true });
      }
      for (const f of files) {
        const target = info.folder ? join(local, f.path.slice(info.path.length)) : local;
        await mkdir(dirname(target), { recursive: true });
        const temp = `${target}.strata-copy`;
        const input = await c.fs.openFile(f.path);
        const out = await open(temp, 'w');
        try {
          for await (const chunk of input.chunks()) await out.write(chunk);
          await out.close();
          await rename(temp, target);
        } catch (err) {
          await out.close().catch(() => undefined);
          await rm(temp, { force: true });
          throw err;
        } finally {
          await input.close();
        }
        c.out(`Copied ${f.path} to file://${target}`);
      }
    });
}
