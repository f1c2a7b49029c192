/** fs ls, stat, du, count, location, test, checksum: commands that look and do not change. */
import { createHash } from 'node:crypto';
import type { Command } from 'commander';
import { StrataError } from '../../common/errors.js';
import type { FileInfo } from '../../common/types.js';
import type { CliContext } from '../context.js';
import { formatBytes, formatTime, lsLine } from '../format.js';
import { filesUnder } from './walk.js';

const SORT_KEYS: Record<string, (f: FileInfo) => number | string> = {
  name: (f) => f.name,
  path: (f) => f.path,
  size: (f) => f.length,
  creationTime: (f) => f.creationTimeMs,
  lastModificationTime: (f) => f.lastModificationTimeMs,
  inMemoryPercentage: (f) => f.inMemoryPercentage,
};

export function registerListing(fs: Command, ctx: () => CliContext): void {
  fs.command('ls')
    .description('List files and folders, with Alluxio\'s columns')
    .argument('<path...>')
    .option('-R', 'list folders recursively')
    .option('-d', 'list folders as plain files')
    .option('-f', 'force loading metadata for immediate children from the UFS')
    .option('-h', 'print sizes in human-readable form')
    .option('-p', 'list only pinned files')
    .option('-r', 'reverse the sort order')
    .option('--sort <key>', `sort by ${Object.keys(SORT_KEYS).join('|')}`, 'name')
    .action(async (paths: string[], o: { R?: boolean; d?: boolean; f?: boolean; h?: boolean; p?: boolean; r?: boolean; sort: string }) => {
      const key = SORT_KEYS[o.sort];
      if (!key) throw new StrataError('INVALID_ARGUMENT', `Unknown sort key ${o.sort}: expected one of ${Object.keys(SORT_KEYS).join(', ')}`);
      const c = ctx();
      for (const path of paths) {
        let items: FileInfo[];
        const info = await c.fs.getStatus(path, { sync: o.f });
        if (!info.folder || o.d) items = [info];
        else items = await c.fs.listStatus(path, { recursive: o.R, sync: o.f });
        if (o.p) items = items.filter((f) => f.pinned);
        const sortKey = o.R && o.sort === 'name' ? SORT_KEYS.path! : key;
        items.sort((a, b) => {
          const x = sortKey(a);
          const y = sortKey(b);
          return x < y ? -1 : x > y ? 1 : 0;
        });
        if (o.r) items.reverse();
        for (const f of items) c.out(lsLine(f, { human: o.h }));
      }
    });

  fs.command('stat')
    .description('Show a file or folder\'s metadata')
    .argument('<path>')
    .option('-f <format>', 'print in a format: %N name, %z size, %u owner, %g group, %i file id, %y/%Y modified time, %b blocks')
    .action(async (path: string, o: { f?: string }) => {
      const c = ctx();
      const f = await c.fs.getStatus(path, { blocks: true });
      if (o.f) {
        const out = o.f.replace(/%([NzugiyYb%])/g, (_, k: string) => {
          switch (k) {
            case 'N': return f.name;
            case 'z': return String(f.length);
            case 'u': return f.owner;
            case 'g': return f.group;
            case 'i': return String(f.fileId);
            case 'y': return formatTime(f.lastModificationTimeMs);
            case 'Y': return String(f.lastModificationTimeMs);
            case 'b': return String(f.blocks?.length ?? 0);
            default: return '%';
          }
        });
        c.out(out);
        return;
      }
      c.out(`${f.path} is a ${f.folder ? 'directory' : 'file'} path.`);
      const { blocks, ...rest } = f;
      c.out(`FileInfo{${Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ')}}`);
      if (!f.folder) {
        c.out('Containing the following blocks: ');
        for (const b of blocks ?? []) {
          c.out(`BlockInfo{id=${b.blockId}, offset=${b.offset}, length=${b.length}, locations=[${b.locations.map((l) => `${l.address.host}:${l.address.rpcPort} (${l.tier})`).join(', ')}]}`);
        }
      }
    });

  fs.command('du')
    .description('Show the size of files and how much of it is cached')
    .argument('<path>')
    .option('-s', 'show one total for the path')
    .option('-h', 'print sizes in human-readable form')
    .action(async (path: string, o: { s?: boolean; h?: boolean }) => {
      const c = ctx();
      const files = await filesUnder(c.fs, path);
      const size = (n: number) => (o.h ? formatBytes(n) : String(n));
      const cached = (f: FileInfo) => Math.round((f.length * f.inAlluxioPercentage) / 100);
      const row = (total: number, inCache: number, p: string) =>
        `${size(total).padEnd(14)}${`${size(inCache)} (${total > 0 ? Math.floor((inCache * 100) / total) : 0}%)`.padEnd(17)}${p}`;
      c.out(`${'File Size'.padEnd(14)}${'In Strata'.padEnd(17)}Path`);
      if (o.s) {
        const total = files.reduce((s, f) => s + f.length, 0);
        c.out(row(total, files.reduce((s, f) => s + cached(f), 0), (await c.fs.getStatus(path)).path));
      } else {
        for (const f of files.sort((a, b) => a.path.localeCompare(b.path))) c.out(row(f.length, cached(f), f.path));
      }
    });

  fs.command('count')
    .description('Count files and folders and their total size')
    .argument('<path>')
    .option('-h', 'print sizes in human-readable form')
    .action(async (path: string, o: { h?: boolean }) => {
      const c = ctx();
      const info = await c.fs.getStatus(path);
      const all = info.folder ? await c.fs.listStatus(path, { recursive: true }) : [info];
      const files = all.filter((f) => !f.folder);
      const folders = all.filter((f) => f.folder).length + (info.folder ? 1 : 0);
      const size = files.reduce((s, f) => s + f.length, 0);
      c.out(`${'File Count'.padEnd(25)}${'Folder Count'.padEnd(25)}Folder Size`);
      c.out(`${String(files.length).padEnd(25)}${String(folders).padEnd(25)}${o.h ? formatBytes(size) : size}`);
    });

  fs.command('location')
    .description('Show the workers that cache a file\'s blocks')
    .argument('<path>')
    .action(async (path: string) => {
      const c = ctx();
      const f = await c.fs.getStatus(path, { blocks: true });
      if (f.folder) throw new StrataError('IS_A_DIRECTORY', `${f.path} is a folder`);
      c.out(`${f.path} with file id ${f.fileId} is on nodes: `);
      const hosts = new Set<string>();
      for (const b of f.blocks ?? []) for (const l of b.locations) hosts.add(`${l.address.host}:${l.address.rpcPort}`);
      for (const h of hosts) c.out(h);
    });

  fs.command('test')
    .description('Test a path: exit 0 when the test holds, 1 when it does not')
    .argument('<path>')
    .option('-d', 'is a folder')
    .option('-e', 'exists')
    .option('-f', 'is a file')
    .option('-s', 'is a non-empty folder')
    .option('-z', 'is a zero-length file')
    .action(async (path: string, o: { d?: boolean; e?: boolean; f?: boolean; s?: boolean; z?: boolean }) => {
      const c = ctx();
      const chosen = ['d', 'e', 'f', 's', 'z'].filter((k) => o[k as keyof typeof o]);
      if (chosen.length !== 1) throw new StrataError('INVALID_ARGUMENT', 'fs test takes exactly one of -d -e -f -s -z');
      let info: FileInfo | undefined;
      try {
        info = await c.fs.getStatus(path);
      } catch (err) {
        if (!StrataError.isCode(err, 'NOT_FOUND')) throw err;
      }
      const holds =
        info !== undefined &&
        (o.e || (o.d && info.folder) || (o.f && !info.folder) || (o.s && info.folder && info.children > 0) || (o.z && !info.folder && info.length === 0));
      process.exitCode = holds ? 0 : 1;
    });

  fs.command('checksum')
    .description('Print the MD5 of a file')
    .argument('<path>')
    .action(async (path: string) => {
      const c = ctx();
      const stream = await c.fs.openFile(path);
      const md5 = createHash('md5');
      try {
        for await (const chunk of stream.chunks()) md5.update(chunk);
      } finally {
        await stream.close();
      }
      c.out(`md5sum: ${md5.digest('hex')}`);
    });
}
