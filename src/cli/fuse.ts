/**
 * strata fuse mount|umount|stat. A mount runs as a background daemon by default (logs in the
 * work dir's logs/), returning once the mount answers; -f keeps it in the foreground. Running
 * mounts are recorded in the work dir's fuse/ folder, one file per daemon, for `fuse stat`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Configuration } from '../common/config/configuration.js';
import { StrataError } from '../common/errors.js';
import type { Logger } from '../common/logging.js';
import type { InProcessServers } from '../common/rpc/client.js';
import { packageRoot } from '../common/native.js';
import { processAlive } from '../common/process-alive.js';
import { FuseMount, fuseMounts, prepareMountPoint, unmountPoint } from '../fuse/mount.js';
import { openLogger, type CliContext } from './context.js';
import { collect } from './options.js';

interface MountRecord {
  pid: number;
  mountPoint: string;
  strataPath: string;
  /** Mounted inside a worker's process, which runs on after an unmount. */
  inWorker?: boolean;
}

const registryDir = (conf: Configuration) => join(conf.get('strata.work.dir'), 'fuse');
/** A mount's record, by its process; `partial`: the name it is written under before it appears. */
const recordFile = (conf: Configuration, pid: number, partial = false) => join(registryDir(conf), `${partial ? '.' : ''}${pid}.json`);

/** How long a worker's mount waits for a master that does not answer yet. */
const MASTER_WAIT_MS = 60_000;

function records(conf: Configuration): MountRecord[] {
  const out: MountRecord[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(registryDir(conf));
  } catch {
    return out;
  }
  const mounted = new Set(fuseMounts().map((m) => m.target));
  for (const name of names) {
    const file = join(registryDir(conf), name);
    // A record being written (see recordUntilUnmounted), or left half written by a writer now gone.
    if (name.startsWith('.')) {
      if (!processAlive(Number.parseInt(name.slice(1), 10))) rmSync(file, { force: true });
      continue;
    }
    try {
      const r = JSON.parse(readFileSync(file, 'utf8')) as MountRecord;
      if (processAlive(r.pid) && mounted.has(r.mountPoint)) out.push(r);
      else rmSync(file, { force: true });
    } catch {
      rmSync(file, { force: true });
    }
  }
  return out;
}

/** Maps `-o` mount options to properties. */
function optionsToConf(opts: string[]): Record<string, string> {
  const map: Record<string, string> = {
    attr_timeout: 'strata.fuse.attr.timeout',
    entry_timeout: 'strata.fuse.entry.timeout',
    max_read: 'strata.fuse.max.read',
    read_ahead: 'strata.fuse.read.ahead',
  };
  const out: Record<string, string> = {};
  for (const o of opts.flatMap((x) => x.split(',')).filter(Boolean)) {
    const [k, v] = o.split('=') as [string, string | undefined];
    if (k === 'allow_other') out['strata.fuse.allow.other'] = 'true';
    else if (k === 'kernel_cache') out['strata.fuse.kernel.cache'] = 'true';
    else if (k === 'no_kernel_cache') out['strata.fuse.kernel.cache'] = 'false';
    else if (k === 'no_passthrough') out['strata.fuse.passthrough.enabled'] = 'false';
    else if (map[k] && v !== undefined) out[map[k]] = /^\d+(\.\d+)?$/.test(v) && k.endsWith('timeout') ? `${v}s` : v;
    else throw new StrataError('INVALID_ARGUMENT', `Unknown mount option "${o}": known are ${[...Object.keys(map).map((x) => `${x}=`), 'allow_other', 'kernel_cache', 'no_kernel_cache', 'no_passthrough'].join(', ')}`);
  }
  return out;
}

async function runForeground(ctx: CliContext, mountPoint: string, strataPath: string, conf: Configuration): Promise<void> {
  const logger = await openLogger(`fuse-${process.pid}`, conf);
  // A daemon that dies leaves a dead mount: log what went wrong rather than vanish silently.
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection in the FUSE daemon'));
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'FUSE daemon failed');
    logger.flush(() => process.exit(1));
  });
  const mount = await FuseMount.mount({ mountPoint, strataPath, conf, logger });
  const ended = recordUntilUnmounted(mount, conf, logger);
  ctx.err(`Mounted ${mount.strataPath} at ${mount.mountPoint} (reads: ${mount.ops.readMode})`);
  const stop = () => {
    mount.unmount({ force: true }).catch((err: unknown) => logger.warn({ err }, 'unmount on signal failed'));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await ended;
  await new Promise<void>((r) => logger.flush(() => r()));
  process.exit(0);
}

/**
 * Lists a mount of this process for `fuse stat` until it is unmounted, however that happens;
 * the record goes once what the mount held is let go, which is what `fuse umount` waits for.
 */
function recordUntilUnmounted(mount: FuseMount, conf: Configuration, logger: Logger, inWorker = false): Promise<void> {
  mkdirSync(registryDir(conf), { recursive: true });
  const record = recordFile(conf, process.pid);
  const r: MountRecord = { pid: process.pid, mountPoint: mount.mountPoint, strataPath: mount.strataPath, ...(inWorker ? { inWorker } : {}) };
  // Written whole before it appears: a `fuse mount` waiting for it, or a `fuse stat`, that read
  // it half written would take it for a stale record and remove it.
  const partial = recordFile(conf, process.pid, true);
  writeFileSync(partial, JSON.stringify(r));
  renameSync(partial, record);
  return mount.session.ended
    .then(() => mount.finish())
    .catch((err: unknown) => logger.warn({ err }, 'letting go of leases at unmount failed'))
    .finally(() => {
      rmSync(record, { force: true });
      logger.info({ mountPoint: mount.mountPoint }, 'unmounted');
    });
}

/**
 * The mount inside a worker's process (strata.worker.fuse.enabled, as Alluxio's
 * worker.fuse.enabled): its calls to the worker, and to a master in the same process, skip HTTP.
 * `fuse stat` lists it and `fuse umount` unmounts it while the worker runs on. Answers what
 * unmounts it when the worker stops, or nothing when it is not enabled.
 */
export async function mountInWorker(conf: Configuration, inProcess: InProcessServers, logger: Logger): Promise<(() => Promise<void>) | undefined> {
  if (!conf.getBool('strata.worker.fuse.enabled')) return undefined;
  const mountConf = conf.with(optionsToConf([conf.get('strata.worker.fuse.mount.options')]));
  const mountOnce = () =>
    FuseMount.mount({
      mountPoint: conf.get('strata.worker.fuse.mount.point'),
      strataPath: conf.get('strata.worker.fuse.mount.strata.path'),
      conf: mountConf,
      logger,
      inProcess,
    });
  // A cluster's worker may start before its master: the mount waits for the master a while, as
  // the worker's registration does, rather than take the worker down.
  const deadline = Date.now() + MASTER_WAIT_MS;
  let mount: FuseMount;
  for (;;) {
    try {
      mount = await mountOnce();
      break;
    } catch (err) {
      if (!StrataError.isCode(err, 'UNAVAILABLE') || Date.now() > deadline) throw err;
      logger.info({ err: (err as Error).message }, 'the master does not answer yet: mounting once it does');
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  let unmounted = false;
  const ended = recordUntilUnmounted(mount, conf, logger, true).finally(() => (unmounted = true));
  return async () => {
    // Unmounted already (fuse umount): nothing left to detach.
    if (!unmounted) await mount.unmount({ force: true }).catch((err: unknown) => logger.warn({ err }, 'unmount at stop failed'));
    await ended;
  };
}

export function registerFuse(program: Command, ctx: () => CliContext): void {
  const fuse = program.command('fuse').description('The POSIX mount of a Strata folder');

  fuse
    .command('mount')
    .description('Mount a Strata folder (default /) at a local folder')
    .argument('<mount_point>')
    .argument('[strata_path]', 'Strata folder to mount', '/')
    .option('-f', 'stay in the foreground')
    .option('-o <options>', 'mount options: attr_timeout=, entry_timeout=, max_read=, allow_other, kernel_cache, no_passthrough', collect, [])
    .action(async (mountPointArg: string, strataPath: string, o: { f?: boolean; o: string[] }) => {
      const c = ctx();
      const conf = c.conf.with(optionsToConf(o.o));
      const mountPoint = resolve(mountPointArg);
      if (o.f) return runForeground(c, mountPoint, strataPath, conf);
      // Check what can be checked here, so that errors come back to this command.
      await c.fs.getStatus(strataPath).then((info) => {
        if (!info.folder) throw new StrataError('INVALID_ARGUMENT', `${info.path} is a file: fuse mount takes a folder`);
      });
      prepareMountPoint(mountPoint, await openLogger('fuse', conf));
      const logDir = conf.get('strata.logs.dir');
      mkdirSync(logDir, { recursive: true });
      const logFile = join(logDir, `fuse-${mountPoint.replace(/\//g, '_')}.out`);
      const out = openSync(logFile, 'a');
      const args = ['fuse', 'mount', '-f', ...o.o.flatMap((x) => ['-o', x]), mountPoint, strataPath, ...c.confArgs.flatMap((kv) => ['--conf', kv])];
      const child = spawn(process.execPath, [join(packageRoot(), 'bin', 'strata'), ...args], { detached: true, stdio: ['ignore', out, out] });
      child.unref();
      const deadline = Date.now() + 30_000;
      for (;;) {
        if (child.exitCode !== null) {
          const tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join('\n');
          throw new StrataError('UNAVAILABLE', `fuse mount failed: ${tail.replace(/^.*?"msg":"/, '')}`);
        }
        if (records(conf).some((r) => r.pid === child.pid)) break;
        if (Date.now() > deadline) {
          child.kill('SIGTERM');
          throw new StrataError('UNAVAILABLE', `fuse mount of ${mountPoint} did not come up within 30 s (log: ${logFile})`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      statSync(mountPoint);
      c.out(`Mounted ${strataPath} at ${mountPoint} (pid ${child.pid})`);
    });

  fuse
    .command('umount')
    .alias('unmount')
    .description('Unmount: open writes finish first unless -f')
    .argument('<mount_point>')
    .option('-f', 'force: detach now even with files open')
    .option('-w <secs>', 'seconds to wait for open files to close', '5')
    .action(async (mountPointArg: string, o: { f?: boolean; w: string }) => {
      const c = ctx();
      const mountPoint = resolve(mountPointArg);
      const record = records(c.conf).find((r) => r.mountPoint === mountPoint);
      if (!fuseMounts().some((m) => m.target === mountPoint)) throw new StrataError('NOT_FOUND', `${mountPoint} is not a Strata mount point`);
      const waitMs = Number(o.w) * 1000;
      if (!Number.isFinite(waitMs) || waitMs < 0) throw new StrataError('INVALID_ARGUMENT', `-w takes seconds, not ${o.w}`);
      const deadline = Date.now() + waitMs;
      for (;;) {
        try {
          unmountPoint(mountPoint, !!o.f);
          break;
        } catch (err) {
          const text = `${(err as NodeJS.ErrnoException).code ?? ''} ${(err as Error).message}`;
          if (!/EBUSY|busy/i.test(text) || Date.now() >= deadline) {
            throw new StrataError('FAILED_PRECONDITION', `Cannot unmount ${mountPoint}: ${/EBUSY|busy/i.test(text) ? 'files are still open (use -f to force)' : text}`);
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      if (record) {
        // Until the mount has let go of its leases: its daemon exits; a worker's mount drops its record.
        const holding = () => processAlive(record.pid) && (!record.inWorker || existsSync(recordFile(c.conf, record.pid)));
        const until = Date.now() + 10_000;
        while (holding() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      }
      c.out(`Unmounted ${mountPoint}`);
    });

  fuse
    .command('stat')
    .description('List running mounts')
    .action(() => {
      const c = ctx();
      const rs = records(c.conf);
      if (rs.length === 0) {
        c.out('No mount point found');
        return;
      }
      c.out('pid\tmount_point\tstrata_path');
      for (const r of rs) c.out(`${r.pid}\t${r.mountPoint}\t${r.strataPath}`);
    });
}
