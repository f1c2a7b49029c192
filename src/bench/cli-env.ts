/**
 * Runs the real `strata` command as child processes against daemons it starts (local, master,
 * worker), each with its own work dir, ports and tier dirs, all removed by cleanup() — which
 * also kills, by PID, any daemon a failed test left running.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { packageRoot } from '../common/native.js';
import { processAlive } from '../common/process-alive.js';
import { mountsUnder, unmountAllUnder } from '../common/system-mounts.js';

export const STRATA = join(packageRoot(), 'bin', 'strata');

/** The lowest port the system gives outgoing connections as their local port (Linux's default if unknown). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32768;
  } catch {
    return 32768;
  }
}

/** Whether 127.0.0.1:port (0: any) can be listened on now; the port listened on, or undefined. */
function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, '127.0.0.1', () => {
      const got = (srv.address() as { port: number }).port;
      srv.close(() => resolve(got));
    });
  });
}

/** Ports this process handed out: never twice. */
const handedOut = new Set<number>();
const LOWEST_PORT = 10_000;

/**
 * A port free now on 127.0.0.1, for a daemon started next to listen on. Picked below the range
 * the system takes outgoing connections' local ports from: a port from there (what listening on
 * port 0 gives) can be taken by any connection made before the daemon listens.
 */
export async function freePort(): Promise<number> {
  const highest = ephemeralLow() - 1;
  for (let i = 0; i < 100 && highest > LOWEST_PORT; i++) {
    const port = LOWEST_PORT + Math.floor(Math.random() * (highest - LOWEST_PORT + 1));
    if (handedOut.has(port) || (await tryListen(port)) === undefined) continue;
    handedOut.add(port);
    return port;
  }
  const port = await tryListen(0);
  if (port === undefined) throw new Error('no free port on 127.0.0.1');
  return port;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export class CliEnv {
  readonly dir = mkdtempSync(join(tmpdir(), 'strata-cli-'));
  readonly shm = mkdtempSync('/dev/shm/strata-cli-');
  readonly confDir = join(this.dir, 'conf');
  readonly ufsRoot = join(this.dir, 'ufs');
  readonly workDir = join(this.dir, 'work');
  private readonly children: ChildProcess[] = [];
  props: Record<string, string | number> = {};

  static async create(extra: Record<string, string | number> = {}): Promise<CliEnv> {
    const env = new CliEnv();
    env.props = {
      'strata.work.dir': env.workDir,
      'strata.master.mount.table.root.ufs': env.ufsRoot,
      'strata.master.rpc.port': await freePort(),
      'strata.master.web.port': await freePort(),
      'strata.worker.rpc.port': await freePort(),
      'strata.worker.web.port': await freePort(),
      'strata.worker.tieredstore.level0.dirs.path': join(env.shm, 'mem'),
      'strata.worker.tieredstore.level0.dirs.quota': '512MB',
      'strata.master.persistence.checker.interval': '200ms',
      'strata.worker.block.heartbeat.interval': '200ms',
      'strata.user.rpc.timeout': '3s',
      ...extra,
    };
    env.writeConf();
    return env;
  }

  writeConf(): void {
    mkdirSync(this.confDir, { recursive: true });
    writeFileSync(join(this.confDir, 'strata-site.properties'), Object.entries(this.props).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  }

  private childEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, STRATA_CONF_DIR: this.confDir };
    for (const k of Object.keys(env)) if (/^(STRATA|ALLUXIO)_/.test(k) && k !== 'STRATA_CONF_DIR') delete env[k];
    return env;
  }

  /**
   * Runs `strata args...`; `env` adds to (or overrides) the environment it runs in; `bin` runs
   * another build's `strata` script instead of this one's.
   */
  run(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; bin?: string } = {}): Promise<RunResult> {
    const started = Date.now();
    return new Promise((resolve) => {
      const child = execFile(opts.bin ?? STRATA, args, { env: { ...this.childEnv(), ...opts.env }, maxBuffer: 256 << 20, encoding: 'buffer' }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout: stdout.toString(), stderr: stderr.toString(), ms: Date.now() - started });
      });
      if (opts.input !== undefined) child.stdin?.end(opts.input);
    });
  }

  /** Starts a foreground daemon (strata master / strata worker ...) with extra --conf pairs; `env` as for run(). */
  spawnDaemon(args: string[], conf: Record<string, string | number> = {}, env: NodeJS.ProcessEnv = {}): ChildProcess {
    const confArgs = Object.entries(conf).flatMap(([k, v]) => ['--conf', `${k}=${v}`]);
    const child = spawn(STRATA, [...args, ...confArgs], { env: { ...this.childEnv(), ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    this.children.push(child);
    return child;
  }

  localPid(): number | undefined {
    try {
      return Number(readFileSync(join(this.workDir, 'local.pid'), 'utf8'));
    } catch {
      return undefined;
    }
  }

  /**
   * Unmounts every mount under this environment's folder (`fuse umount -f`, else a lazy umount)
   * and makes sure the FUSE daemons that served them are gone, killing by PID any that linger.
   */
  async unmountAll(): Promise<void> {
    const daemons = fuseDaemonPids(this.workDir);
    for (const target of mountsUnder(this.dir)) {
      const r = await this.run(['fuse', 'umount', '-f', target]);
      if (r.code !== 0) await new Promise((done) => execFile('umount', ['-l', target], done));
    }
    for (const pid of daemons) {
      await waitForExit(pid, 5_000).catch(() => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      });
    }
  }

  async cleanup(): Promise<void> {
    // Never delete through a mount: what is under it belongs to the cluster (or to the UFS).
    await this.unmountAll();
    const pid = this.localPid();
    if (pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const c of this.children) if (c.exitCode === null) c.kill('SIGKILL');
    // STRATA_TEST_KEEP_LOGS=DIR keeps the daemons' logs for a post-mortem.
    const keep = process.env.STRATA_TEST_KEEP_LOGS;
    if (keep && existsSync(join(this.workDir, 'logs'))) cpSync(join(this.workDir, 'logs'), join(keep, basename(this.dir)), { recursive: true, force: true });
    rmSync(this.dir, { recursive: true, force: true });
    // A memory tier the worker mounted (dirs.mount=tmpfs) outlives it, as it would a restart.
    unmountAllUnder(this.shm);
    rmSync(this.shm, { recursive: true, force: true });
  }
}

/** PIDs of the FUSE daemons a work dir's registry lists (see src/cli/fuse.ts). */
export function fuseDaemonPids(workDir: string): number[] {
  const dir = join(workDir, 'fuse');
  try {
    return readdirSync(dir).flatMap((name) => {
      try {
        const record = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { pid: number; inWorker?: boolean };
        // A worker's own mount is no daemon: unmounting it leaves the worker running.
        return record.inWorker ? [] : [record.pid];
      } catch {
        return [];
      }
    });
  } catch {
    return [];
  }
}

export { mountsUnder };

export async function waitForExit(pid: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!processAlive(pid)) return;
    if (Date.now() > deadline) throw new Error(`pid ${pid} still running`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
