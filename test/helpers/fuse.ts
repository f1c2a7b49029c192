/**
 * A local cluster (real processes) with a real FUSE mount of it under a temporary folder.
 * cleanup() unmounts (forcing, then lazily) and stops everything even when a test failed.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliEnv } from './cli.js';
import { requestsServed } from '../../src/bench/rpc-requests.js';

export class FuseEnv {
  private constructor(
    readonly env: CliEnv,
    readonly mnt: string,
  ) {}

  /**
   * `inWorker`: the worker mounts the root itself at start (strata.worker.fuse.enabled) instead of
   * a daemon; `mountArgs`' -o options then go to strata.worker.fuse.mount.options.
   */
  static async create(opts: { props?: Record<string, string | number>; strataPath?: string; mountArgs?: string[]; inWorker?: boolean } = {}): Promise<FuseEnv> {
    const env = await CliEnv.create(opts.props);
    const fe = new FuseEnv(env, join(env.dir, 'mnt'));
    // STRATA_TEST_FUSE=worker runs the mount suites against the worker's own mount (of the root).
    opts = { ...opts, inWorker: opts.inWorker ?? (process.env.STRATA_TEST_FUSE === 'worker' && !opts.strataPath) };
    if (opts.inWorker && opts.mountArgs) env.props['strata.worker.fuse.mount.options'] = opts.mountArgs.filter((_, i, a) => a[i - 1] === '-o').join(',');
    if (opts.inWorker) Object.assign(env.props, { 'strata.worker.fuse.enabled': 'true', 'strata.worker.fuse.mount.point': fe.mnt });
    env.writeConf();
    try {
      const start = await env.run(['local', 'start']);
      if (start.code !== 0) throw new Error(`local start: ${start.stderr}`);
      if (opts.strataPath) await env.run(['fs', 'mkdir', opts.strataPath]);
      if (opts.inWorker) return fe;
      const mount = await env.run(['fuse', 'mount', ...(opts.mountArgs ?? []), fe.mnt, opts.strataPath ?? '/']);
      if (mount.code !== 0) throw new Error(`fuse mount: ${mount.stderr}`);
      return fe;
    } catch (err) {
      // The caller never gets the environment to clean up: what was started stops here.
      await fe.cleanup().catch(() => undefined);
      throw err;
    }
  }

  path(p: string): string {
    return join(this.mnt, p);
  }

  /** Writes `data` to Strata path /`name` with `fs copyFromLocal` (the cluster's write type). */
  async copyIn(name: string, data: Buffer): Promise<void> {
    const local = join(this.env.dir, name);
    writeFileSync(local, data);
    const r = await this.env.run(['fs', 'copyFromLocal', local, `/${name}`]);
    if (r.code !== 0) throw new Error(`copyFromLocal ${name}: ${r.stderr}`);
  }

  /** Short-circuit leases the worker holds now (its `strata_worker_leases` gauge). */
  async leasesHeld(): Promise<number> {
    return this.workerMetric('strata_worker_leases{kind="leases"');
  }

  /**
   * Leases held once the count stays put longer than a mount's poll for removed files (2 s):
   * files removed in earlier steps that the mount kept open are let go by then.
   */
  async settledLeases(timeoutMs = 15_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let last = await this.leasesHeld();
    for (let since = Date.now(); Date.now() - since < 2500; ) {
      if (Date.now() > deadline) throw new Error(`the worker's lease count did not settle within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
      const now = await this.leasesHeld();
      if (now !== last) [last, since] = [now, Date.now()];
    }
    return last;
  }

  /** Bytes the worker's memory tier holds now (its `strata_worker_tier_bytes` gauge). */
  async cachedBytes(): Promise<number> {
    return this.workerMetric('strata_worker_tier_bytes{tier="MEM",kind="used"');
  }

  /** Requests the worker has served on `route` ("GET /api/v1/prefetch/loaded") since it started. */
  async workerRequests(route: string, transport?: 'http' | 'in-process'): Promise<number> {
    return (await requestsServed([Number(this.env.props['strata.worker.web.port'])], transport))?.get(route) ?? 0;
  }

  /** The value of the worker's metric line that starts with `prefix`. */
  private async workerMetric(prefix: string): Promise<number> {
    const res = await fetch(`http://127.0.0.1:${this.env.props['strata.worker.web.port']}/metrics`);
    const line = (await res.text()).split('\n').find((l) => l.startsWith(prefix));
    if (!line) throw new Error(`the worker exports no metric ${prefix}}`);
    // Label values may hold spaces (a route): the value is the last field.
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }

  async cleanup(): Promise<void> {
    await this.env.unmountAll();
    await this.env.run(['local', 'stop']);
    await this.env.cleanup();
  }
}

/** Runs a shell command line; resolves with its exit code and output. */
export function sh(cmd: string, opts: { cwd?: string; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', cmd], { cwd: opts.cwd, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
