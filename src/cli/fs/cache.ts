/** fs free, load, persist, pin, unpin, setTtl, unsetTtl: what is cached, kept, and for how long. */
import type { Command } from 'commander';
import { parseDuration } from '../../common/config/units.js';
import { StrataError } from '../../common/errors.js';
import type { CliContext } from '../context.js';
import { progressBar } from '../progress.js';
import { filesUnder, forEachLimit } from './walk.js';

export function registerCache(fs: Command, ctx: () => CliContext): void {
  fs.command('free')
    .description('Drop cached copies of persisted files')
    .argument('<path>')
    .option('-f', 'also free pinned files (and unpin them)')
    .action(async (path: string, o: { f?: boolean }) => {
      const c = ctx();
      await c.fs.free(path, { forced: o.f });
      c.out(`${path} was successfully freed from Strata space.`);
    });

  fs.command('load')
    .description('Cache a file or every file in a folder')
    .argument('<path>')
    .option('--thread <n>', 'files loaded at once (a far-away UFS needs many in flight)', '16')
    .action(async (path: string, o: { thread: string }) => {
      const c = ctx();
      const threads = Number(o.thread);
      if (!Number.isInteger(threads) || threads < 1) throw new StrataError('INVALID_ARGUMENT', `--thread must be a positive integer, got ${o.thread}`);
      const files = await filesUnder(c.fs, path);
      const bar = progressBar(files.length, 'Loading', 'files');
      try {
        await forEachLimit(files, threads, async (f) => {
          await c.fs.load(f.path);
          bar.tick(1);
          c.out(`${f.path} loaded`);
        });
      } finally {
        bar.stop();
      }
    });

  fs.command('persist')
    .description('Write files that are only cached to their UFS now')
    .argument('<path...>')
    .action(async (paths: string[]) => {
      const c = ctx();
      for (const p of paths) {
        for (const f of await filesUnder(c.fs, p)) {
          if (f.persistenceState === 'PERSISTED') {
            c.out(`${f.path} is already persisted`);
            continue;
          }
          const done = await c.fs.persist(f.path);
          c.out(`persisted file ${done.path} with size ${done.length}`);
        }
      }
    });

  for (const [name, pinned] of [['pin', true], ['unpin', false]] as const) {
    fs.command(name)
      .description(pinned ? 'Keep a file (or every file in a folder) from eviction' : 'Let a file be evicted again')
      .argument('<path>')
      .action(async (path: string) => {
        const c = ctx();
        await c.fs.setAttribute(path, { pinned });
        c.out(`File '${path}' was successfully ${pinned ? 'pinned' : 'unpinned'}.`);
      });
  }

  fs.command('setTtl')
    .description('Free or delete a path when its time-to-live (from creation) ends')
    .argument('<path>')
    .argument('<time>', 'milliseconds, or with a unit: 10s, 5min, 1h')
    .option('--action <action>', 'free or delete', 'free')
    .action(async (path: string, time: string, o: { action: string }) => {
      const c = ctx();
      const ttl = parseDuration(time);
      if (ttl === undefined || ttl < 0) throw new StrataError('INVALID_ARGUMENT', `TTL "${time}" is not a duration like 60000, 10s or 5min`);
      const action = o.action.toUpperCase();
      if (action !== 'FREE' && action !== 'DELETE') throw new StrataError('INVALID_ARGUMENT', `--action must be free or delete, not ${o.action}`);
      await c.fs.setAttribute(path, { ttl, ttlAction: action });
      c.out(`TTL of path '${path}' was successfully set to ${ttl} milliseconds, with expiry action set to ${action}`);
    });

  fs.command('unsetTtl')
    .description('Remove the time-to-live of a path')
    .argument('<path>')
    .action(async (path: string) => {
      const c = ctx();
      await c.fs.setAttribute(path, { ttl: -1 });
      c.out(`TTL of path '${path}' was successfully removed.`);
    });
}
