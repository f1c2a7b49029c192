/**
 * Runs the throttling proxy in a child process, so that the process that reads through it can
 * block (a synchronous call on a mount whose UFS is behind the proxy would otherwise deadlock)
 * or burn CPU (decoding) without delaying the proxy's timers. stop() ends it by PID.
 */
import { fork } from 'node:child_process';
import type { ProxyStats } from './throttle-proxy.js';
import type { SlowUfs } from './slow-ufs.js';

export interface ChildStart {
  target: { host: string; port: number };
  latencyMs: number;
  /** null for no cap (JSON has no Infinity). */
  bytesPerSecond: number | null;
}
export type ParentMessage = { type: 'stats'; openWindow?: boolean };
export type ChildMessage = { type: 'listening'; port: number } | { type: 'stats'; stats: ProxyStats };

export interface ProxyProcess {
  endpoint: string;
  port: number;
  pid: number;
  settings: SlowUfs;
  /** The proxy's counts; `openWindow` starts a new window of bytes sent (see DownWindow). */
  stats(opts?: { openWindow?: boolean }): Promise<ProxyStats>;
  stop(): Promise<void>;
}

export async function spawnThrottleProxy(target: { host: string; port: number }, settings: SlowUfs): Promise<ProxyProcess> {
  const start: ChildStart = { target, latencyMs: settings.latencyMs, bytesPerSecond: Number.isFinite(settings.bytesPerSecond) ? settings.bytesPerSecond : null };
  const child = fork(new URL('./throttle-proxy-child.js', import.meta.url), [JSON.stringify(start)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = <T extends ChildMessage['type']>(type: T): Promise<Extract<ChildMessage, { type: T }>> =>
    new Promise((resolve, reject) => {
      const onMessage = (m: ChildMessage) => {
        if (m.type !== type) return;
        child.off('message', onMessage).off('exit', onExit);
        resolve(m as Extract<ChildMessage, { type: T }>);
      };
      const onExit = (code: number | null) => {
        child.off('message', onMessage);
        reject(new Error(`the throttling proxy exited (code ${code})`));
      };
      child.on('message', onMessage).once('exit', onExit);
    });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await exited;
  };
  try {
    const { port } = await next('listening');
    return {
      endpoint: `http://127.0.0.1:${port}`,
      port,
      pid: child.pid!,
      settings,
      async stats(opts = {}) {
        if (!child.connected) throw new Error(`the throttling proxy (pid ${child.pid}) is gone: exit code ${child.exitCode}, signal ${child.signalCode}`);
        const reply = next('stats');
        // A send that fails (the child died just now) is reported by its exit, which rejects `reply`.
        child.send({ type: 'stats', openWindow: opts.openWindow } satisfies ParentMessage, () => undefined);
        return (await reply).stats;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
