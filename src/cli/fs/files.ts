/** fs mkdir, touch, cat, head, tail, rm, mv, cp: commands on files and folders inside Strata. */
import type { Command } from 'commander';
import { requireSize } from '../../common/config/units.js';
import { StrataError } from '../../common/errors.js';
import { joinPath } from '../../common/paths.js';
import type { FileSystem } from '../../client/file-system.js';
import type { CliContext } from '../context.js';
import { copyTarget } from './walk.js';

async function writeOut(chunk: Buffer): Promise<void> {
  if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once('drain', r));
}

async function printRange(fs: FileSystem, path: string, from: (length: number) => number, count: number): Promise<void> {
  const s = await fs.openFile(path);
  try {
    const start = Math.max(0, from(s.length));
    const n = Math.min(count, s.length - start);
    const buf = Buffer.allocUnsafe(Math.max(0, n));
    let done = 0;
    while (done < n) done += await s.read(buf.subarray(done), start + done);
    await writeOut(buf);
  } finally {
    await s.close();
  }
}

async function copyWithin(fs: FileSystem, src: string, dst: string, recursive: boolean, say: (s: string) => void): Promise<void> {
  const info = await fs.getStatus(src);
  if (info.folder) {
    if (!recursive) throw new StrataError('INVALID_ARGUMENT', `${info.path} is a folder: use cp -R to copy it`);
    await fs.createDirectory(dst, { recursive: true, allowExists: true });
    for (const child of await fs.listStatus(info.path)) await copyWithin(fs, child.path, joinPath(dst, child.name), true, say);
    return;
  }
  const input = await fs.openFile(info.path);
  const out = await fs.createFile(dst, { recursive: false });
  try {
    for await (const chunk of input.chunks()) await out.write(chunk);
    await out.close();
  } catch (err) {
    await out.abort();
    throw err;
  } finally {
    await input.close();
  }
  say(`Copied ${info.path} to ${dst}`);
}

export function registerFiles(fs: Command, ctx: () => CliContext): void {
  fs.command('mkdir')
    .description('Create folders, with any missing parents')
    .argument('<path...>')
    .action(async (paths: string[]) => {
      const c = ctx();
      for (const p of paths) {
        const info = await c.fs.createDirectory(p, { recursive: true });
        c.out(`Successfully created directory ${info.path}`);
      }
    });

  fs.command('touch')
    .description('Create an empty file')
    .argument('<path>')
    .action(async (path: string) => {
      const c = ctx();
      const out = await c.fs.createFile(path, { recursive: true });
      const info = await out.close();
      c.out(`${info.path} has been created`);
    });

  fs.command('cat')
    .description('Print a file')
    .argument('<path...>')
    .action(async (paths: string[]) => {
      const c = ctx();
      for (const p of paths) {
        const s = await c.fs.openFile(p);
        try {
          for await (const chunk of s.chunks()) await writeOut(chunk);
        } finally {
          await s.close();
        }
      }
    });

  fs.command('head')
    .description('Print the start of a file (1KB unless -c)')
    .argument('<path>')
    .option('-c <size>', 'bytes to print (1024, 4KB, ...)', '1KB')
    .action(async (path: string, o: { c: string }) => printRange(ctx().fs, path, () => 0, requireSize(o.c, '-c')));

  fs.command('tail')
    .description('Print the end of a file (1KB unless -c)')
    .argument('<path>')
    .option('-c <size>', 'bytes to print (1024, 4KB, ...)', '1KB')
    .action(async (path: string, o: { c: string }) => {
      const n = requireSize(o.c, '-c');
      await printRange(ctx().fs, path, (len) => len - n, n);
    });

  fs.command('rm')
    .description('Remove files (and folders with -R)')
    .argument('<path...>')
    .option('-R', 'remove folders and everything in them')
    .option('--alluxioOnly', 'remove from Strata only, leaving the UFS as it is')
    .action(async (paths: string[], o: { R?: boolean; alluxioOnly?: boolean }) => {
      const c = ctx();
      for (const p of paths) {
        const info = await c.fs.getStatus(p);
        if (info.folder && !o.R) throw new StrataError('INVALID_ARGUMENT', `${info.path} is a directory, to remove it, please use "rm -R <path>"`);
        await c.fs.delete(p, { recursive: o.R, alluxioOnly: o.alluxioOnly });
        c.out(`${info.path} has been removed`);
      }
    });

  fs.command('mv')
    .description('Move or rename a file or folder (within one mount)')
    .argument('<src>')
    .argument('<dst>')
    .action(async (src: string, dst: string) => {
      const c = ctx();
      const info = await c.fs.rename(src, dst);
      c.out(`Renamed ${src} to ${info.path}`);
    });

  fs.command('cp')
    .description('Copy files (and folders with -R) inside Strata')
    .argument('<src>')
    .argument('<dst>')
    .option('-R', 'copy folders recursively')
    .action(async (src: string, dst: string, o: { R?: boolean }) => {
      const c = ctx();
      await copyWithin(c.fs, src, await copyTarget(c.fs, src, dst), !!o.R, (s) => c.out(s));
    });
}
