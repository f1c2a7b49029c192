/**
 * A TCP proxy that makes a local server look far away: it stands for a bucket in another region
 * in front of a local S3 server, so that what a cache saves shows in the numbers.
 *
 * Latency is modelled per HTTP request, not per packet: the first bytes a client sends after a
 * response (that is, each new request on a keep-alive connection) are held for one round trip
 * before they reach the server; a new connection pays one more round trip, for the TCP handshake.
 * Bandwidth is one cap shared by all connections, per direction (a token bucket each), as a
 * link's is. Byte order within a connection is kept: each direction is one serial stream.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SlowUfs } from './slow-ufs.js';
import { TokenBucket } from './token-bucket.js';
import { clockMs } from './clock.js';

export interface ProxyStats {
  connections: number;
  /** Requests seen: bursts of client bytes that follow a response or open a connection. */
  requests: number;
  bytesUp: number;
  bytesDown: number;
  window: DownWindow;
}

/**
 * When the first and last bytes sent to the clients since the window opened went (clockMs()):
 * an epoch's time splits into waiting for the UFS, moving its bytes (bytesDown counts them), and
 * what came after the last of them.
 */
export interface DownWindow {
  openedAt: number;
  firstAt?: number;
  lastAt?: number;
}

export interface ThrottleProxy {
  /** http://127.0.0.1:PORT, to use in place of the target's endpoint. */
  endpoint: string;
  port: number;
  settings: SlowUfs;
  /** Counts so far; `openWindow` then starts a new window (see DownWindow). */
  stats(opts?: { openWindow?: boolean }): ProxyStats;
  close(): Promise<void>;
}

// Room for a few socket reads at once: small against the second's worth a cap allows.
const BURST_BYTES = 128 << 10;

/** One direction of one connection: waits out its latency (if any), then its share of the cap. */
class Throttle extends Transform {
  constructor(
    private readonly bucket: TokenBucket,
    /** Milliseconds this chunk is held after it arrived (0 for most). */
    private readonly latencyFor: (chunk: Buffer) => number,
    private readonly count: (bytes: number) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const arrived = performance.now();
    const latency = this.latencyFor(chunk);
    void (async () => {
      const held = arrived + latency - performance.now();
      if (held > 0) await sleep(held);
      const wait = this.bucket.reserve(chunk.length);
      if (wait > 0) await sleep(wait);
      this.count(chunk.length);
      done(null, chunk);
    })();
  }
}

export async function startThrottleProxy(target: { host: string; port: number }, settings: SlowUfs): Promise<ThrottleProxy> {
  const up = new TokenBucket(settings.bytesPerSecond, BURST_BYTES);
  const down = new TokenBucket(settings.bytesPerSecond, BURST_BYTES);
  const stats: ProxyStats = { connections: 0, requests: 0, bytesUp: 0, bytesDown: 0, window: { openedAt: clockMs() } };
  const open = new Set<Socket>();

  const server: Server = createServer((client) => {
    stats.connections++;
    const upstream = connect(target.port, target.host);
    // No Nagle: with it, a response's last small segment waits for the peer's delayed ACK (up to
    // 40 ms), a stall no real S3 endpoint adds and the latency model does not ask for.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    open.add(client).add(upstream);
    let firstRequest = true;
    let awaitingRequest = true;
    const requestLatency = (): number => {
      if (!awaitingRequest) return 0;
      awaitingRequest = false;
      stats.requests++;
      const rtts = firstRequest ? 2 : 1;
      firstRequest = false;
      return rtts * settings.latencyMs;
    };
    const toServer = new Throttle(up, requestLatency, (n) => (stats.bytesUp += n));
    const toClient = new Throttle(down, () => 0, (n) => {
      stats.bytesDown += n;
      const w = stats.window;
      w.lastAt = clockMs();
      w.firstAt ??= w.lastAt;
      awaitingRequest = true;
    });
    // An error anywhere ends the connection. A clean end from the server is passed on by the
    // pipes once the held bytes are out; a client that goes away leaves nothing to deliver.
    const destroyAll = (): void => {
      for (const s of [client, upstream, toServer, toClient]) s.destroy();
    };
    for (const s of [client, upstream, toServer, toClient]) s.once('error', destroyAll);
    client.once('close', destroyAll);
    for (const s of [client, upstream]) s.once('close', () => open.delete(s));
    client.pipe(toServer).pipe(upstream);
    upstream.pipe(toClient).pipe(client);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    settings,
    stats: (opts = {}) => {
      const snapshot = { ...stats, window: { ...stats.window } };
      if (opts.openWindow) stats.window = { openedAt: clockMs() };
      return snapshot;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
