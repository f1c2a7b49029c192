/**
 * strata master, strata worker and strata local start|stop|run. A daemon logs to the work dir's
 * logs/, stops cleanly on SIGTERM or SIGINT, and `local start` returns only once the master
 * answers and the worker has registered.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Configuration } from '../common/config/configuration.js';
import { StrataError } from '../common/errors.js';
import type { Logger } from '../common/logging.js';
import { masterUrl, type InProcessServers } from '../common/rpc/client.js';
import { packageRoot } from '../common/native.js';
import { processAlive } from '../common/process-alive.js';
import { ensureTokenFile } from '../common/security.js';
import type { WorkerProcess } from '../worker/worker-process.js';
import { FileSystem } from '../client/file-system.js';
import { openLogger, type CliContext } from './context.js';
import { mountInWorker } from './fuse.js';

// The master's and the worker's code is imported in the actions that run them (see openLogger).
const masterCode = () => import('../master/master-process.js');
const workerCode = () => import('../worker/worker-process.js');

function pidFile(conf: Configuration): string {
  return join(conf.get('strata.work.dir'), 'local.pid');
}

function runningPid(conf: Configuration): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile(conf), 'utf8').trim());
    return processAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The worker's own mount, if it has one: stops the parts started before it if it fails. */
async function startMount(conf: Configuration, inProcess: InProcessServers, logger: Logger, started: Array<() => Promise<void>>): Promise<Array<() => Promise<void>>> {
  try {
    const unmount = await mountInWorker(conf, inProcess, logger);
    return unmount ? [unmount] : [];
  } catch (err) {
    for (const s of started.reverse()) await s().catch(() => undefined);
    throw err;
  }
}

/** Runs until SIGTERM/SIGINT, then stops the parts in reverse order. */
async function serve(stoppers: Array<() => Promise<void>>, onExit?: () => void): Promise<void> {
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  for (const s of stoppers.reverse()) await s().catch(() => undefined);
  onExit?.();
  process.exit(0);
}

/** Until the child has written its pid file (the last step of its start) and its worker is live. */
async function waitUntilUp(conf: Configuration, child: { pid?: number; exitCode: number | null }, timeoutMs: number): Promise<void> {
  const fs = new FileSystem(conf.with({ 'strata.user.rpc.timeout': '2s' }));
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new StrataError('UNAVAILABLE', `Strata exited during start (code ${child.exitCode})`);
      try {
        if (runningPid(conf) === child.pid && (await fs.listWorkers()).some((w) => w.state === 'LIVE')) return;
      } catch (err) {
        if (!StrataError.isCode(err, 'UNAVAILABLE')) throw err;
      }
      if (Date.now() > deadline) throw new StrataError('UNAVAILABLE', `Strata did not answer within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await fs.close();
  }
}

export function registerDaemons(program: Command, ctx: () => CliContext): void {
  program
    .command('master')
    .description('Run a master in the foreground')
    .action(async () => {
      const conf = ctx().conf;
      const { MasterProcess } = await masterCode();
      const master = await MasterProcess.start(conf, await openLogger('master', conf));
      ctx().err(`Strata master listening on ${conf.get('strata.master.bind.host')}:${master.rpcPort} (web ${master.webPort})`);
      await serve([() => master.stop()]);
    });

  program
    .command('worker')
    .description('Run a worker in the foreground')
    .option('--master <host:port>', 'master address (else strata.master.hostname and rpc.port)')
    .action(async (o: { master?: string }) => {
      let conf = ctx().conf;
      if (o.master) {
        const [host, port] = o.master.split(':');
        if (!host || !port || !/^\d+$/.test(port)) throw new StrataError('INVALID_ARGUMENT', `--master "${o.master}" is not host:port`);
        conf = conf.with({ 'strata.master.hostname': host, 'strata.master.rpc.port': port });
      }
      const { WorkerProcess } = await workerCode();
      const logger = await openLogger(`worker-${conf.get('strata.worker.rpc.port')}`, conf);
      const worker = await WorkerProcess.start(conf, logger);
      const unmount = await startMount(conf, new Map([[worker.url, worker.rpcServer]]), logger, [() => worker.stop()]);
      ctx().err(`Strata worker listening on ${conf.get('strata.worker.bind.host')}:${worker.rpcPort} (web ${worker.webPort})`);
      await serve([() => worker.stop(), ...unmount]);
    });

  const local = program.command('local').description('A master and a worker in one process on this machine, bound to loopback');

  local
    .command('start')
    .description('Start the local cluster in the background')
    .action(async () => {
      const c = ctx();
      const conf = c.conf;
      const pid = runningPid(conf);
      if (pid) {
        c.out(`Strata is already running (pid ${pid}); work dir ${conf.get('strata.work.dir')}`);
        return;
      }
      mkdirSync(conf.get('strata.work.dir'), { recursive: true, mode: 0o700 });
      ensureTokenFile(conf);
      const logDir = conf.get('strata.logs.dir');
      mkdirSync(logDir, { recursive: true });
      const out = openSync(join(logDir, 'local.out'), 'a');
      const confArgs = c.confArgs.flatMap((kv) => ['--conf', kv]);
      const child = spawn(process.execPath, [join(packageRoot(), 'bin', 'strata'), 'local', 'run', ...confArgs], {
        detached: true,
        stdio: ['ignore', out, out],
      });
      child.unref();
      try {
        await waitUntilUp(conf, child, 60_000);
      } catch (err) {
        if (child.exitCode === null) child.kill('SIGTERM');
        const tail = existsSync(join(logDir, 'local.out')) ? readFileSync(join(logDir, 'local.out'), 'utf8').split('\n').slice(-6).join('\n') : '';
        throw new StrataError('UNAVAILABLE', `${(err as Error).message}\n${tail}`.trim());
      }
      c.out(
        `Started Strata master and worker (pid ${child.pid}): master ${conf.get('strata.master.hostname')}:${conf.get('strata.master.rpc.port')}, ` +
          `web http://${conf.get('strata.master.hostname')}:${conf.get('strata.master.web.port')}, work dir ${conf.get('strata.work.dir')}` +
          (conf.getBool('strata.worker.fuse.enabled') ? `; ${conf.get('strata.worker.fuse.mount.strata.path')} mounted at ${resolve(conf.get('strata.worker.fuse.mount.point'))}` : ''),
      );
    });

  local
    .command('stop')
    .description('Stop the local cluster')
    .action(async () => {
      const c = ctx();
      const pid = runningPid(c.conf);
      if (!pid) {
        c.out('Strata is not running');
        return;
      }
      process.kill(pid, 'SIGTERM');
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        if (!processAlive(pid)) {
          c.out(`Stopped Strata (pid ${pid})`);
          return;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new StrataError('UNAVAILABLE', `Strata (pid ${pid}) did not stop within 30 s`);
    });

  local
    .command('run')
    .description('Run the local cluster in the foreground (what local start runs)')
    .action(async () => {
      const conf = ctx().conf;
      const [{ MasterProcess }, { WorkerProcess }] = await Promise.all([masterCode(), workerCode()]);
      ensureTokenFile(conf);
      const master = await MasterProcess.start(conf, await openLogger('master', conf));
      const inProcess = new Map([[masterUrl(conf), master.rpcServer]]);
      let worker: WorkerProcess;
      try {
        worker = await WorkerProcess.start(conf, await openLogger('worker', conf), { inProcess });
      } catch (err) {
        await master.stop();
        throw err;
      }
      inProcess.set(worker.url, worker.rpcServer);
      const unmount = await startMount(conf, inProcess, await openLogger('fuse', conf), [() => master.stop(), () => worker.stop()]);
      // Written last: `local start` waits for it.
      const file = pidFile(conf);
      writeFileSync(file, String(process.pid));
      await serve([() => master.stop(), () => worker.stop(), ...unmount], () => rmSync(file, { force: true }));
    });
}
