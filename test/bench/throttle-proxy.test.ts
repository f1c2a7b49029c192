/**
 * The throttling proxy over a real HTTP server on loopback: requests pay the latency, transfers
 * keep to the cap, and the cap is shared by connections. Loopback alone moves GB/s with no
 * delay, so each bound below fails without throttling; the bounds are wide for a busy machine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, createServer, request, type IncomingMessage, type Server } from 'node:http';
import { startThrottleProxy, type ThrottleProxy } from '../../src/bench/throttle-proxy.js';
import { parseSlowUfs } from '../../src/bench/slow-ufs.js';
import { StrataError } from '../../src/common/errors.js';

const MiB = 2 ** 20;

/** GET /N answers N bytes; PUT answers how many bytes it received. */
async function startServer(): Promise<{ server: Server; port: number }> {
  const body = Buffer.alloc(8 * MiB, 7);
  const server = createServer((req, res) => {
    if (req.method === 'PUT') {
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length)).on('end', () => res.end(String(n)));
      return;
    }
    const n = Number(req.url!.slice(1));
    res.setHeader('content-length', n);
    res.end(body.subarray(0, n));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

/** Sends one request and resolves with the seconds until the last response byte. */
function timedRequest(port: number, agent: Agent, method: 'GET' | 'PUT', path: string, upload?: Buffer): Promise<{ seconds: number; bytes: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent }, (res: IncomingMessage) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ seconds: (performance.now() - t0) / 1000, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(upload);
  });
}

async function withProxy(slowUfs: string, fn: (proxy: ThrottleProxy, agent: Agent) => Promise<void>): Promise<void> {
  const { server, port } = await startServer();
  const proxy = await startThrottleProxy({ host: '127.0.0.1', port }, parseSlowUfs(slowUfs));
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  try {
    await fn(proxy, agent);
  } finally {
    agent.destroy();
    await proxy.close();
    await new Promise((r) => server.close(r));
  }
}

test('--slow-ufs parses latency and bandwidth with the project units, and names what is wrong', () => {
  assert.deepEqual(parseSlowUfs('latency=20ms,bandwidth=100MB/s'), { latencyMs: 20, bytesPerSecond: 100 * MiB });
  assert.deepEqual(parseSlowUfs('bandwidth=1.5GB/s'), { latencyMs: 0, bytesPerSecond: 1.5 * 2 ** 30 });
  assert.deepEqual(parseSlowUfs(' latency = 1s '), { latencyMs: 1000, bytesPerSecond: Infinity });
  for (const [bad, names] of [
    ['latency=fast', 'latency'],
    ['bandwidth=100MB', 'bandwidth'],
    ['bandwidth=0MB/s', 'bandwidth'],
    ['jitter=5ms', 'jitter'],
    ['latency', 'latency'],
    ['latency=1ms,latency=2ms', 'twice'],
  ]) {
    assert.throws(() => parseSlowUfs(bad!), (e: unknown) => e instanceof StrataError && e.code === 'INVALID_ARGUMENT' && e.message.includes(names!), bad);
  }
});

test('each request pays the latency; a new connection pays one more round trip', async () => {
  await withProxy('latency=150ms', async (proxy, agent) => {
    const first = await timedRequest(proxy.port, agent, 'GET', '/10');
    const second = await timedRequest(proxy.port, agent, 'GET', '/10');
    assert.equal(second.bytes, 10);
    assert.ok(first.seconds >= 0.29, `first request took ${first.seconds} s, expected >= 2 x 150 ms`);
    assert.ok(second.seconds >= 0.145, `second request took ${second.seconds} s, expected >= 150 ms`);
    assert.ok(second.seconds < 1.5, `second request took ${second.seconds} s`);
    const { connections, requests } = proxy.stats();
    assert.deepEqual({ connections, requests }, { connections: 1, requests: 2 });
  });
});

test('a download keeps to the cap, and its window tells when its bytes went', async () => {
  await withProxy('bandwidth=8MB/s', async (proxy, agent) => {
    const before = proxy.stats({ openWindow: true });
    const r = await timedRequest(proxy.port, agent, 'GET', `/${4 * MiB}`);
    assert.equal(r.bytes, 4 * MiB);
    const rate = r.bytes / r.seconds / (8 * MiB);
    assert.ok(rate <= 1.2 && rate >= 0.5, `download ran at ${rate.toFixed(2)} x the cap`);
    // The window holds the answer (and its head); its bytes went at the cap, after it opened.
    const after = proxy.stats({ openWindow: true });
    const w = after.window;
    const bytes = after.bytesDown - before.bytesDown;
    assert.ok(bytes > 4 * MiB && bytes < 4 * MiB + 1024, `window bytes ${bytes}`);
    assert.ok(w.firstAt! >= w.openedAt && w.lastAt! > w.firstAt!, JSON.stringify(w));
    const windowRate = bytes / ((w.lastAt! - w.firstAt!) / 1000) / (8 * MiB);
    assert.ok(windowRate <= 1.2 && windowRate >= 0.5, `the window's bytes went at ${windowRate.toFixed(2)} x the cap`);
    const fresh = proxy.stats().window;
    assert.equal(fresh.firstAt, undefined);
    assert.equal(fresh.lastAt, undefined);
  });
});

test('the cap is shared by concurrent connections, and holds for uploads too', async () => {
  await withProxy('bandwidth=8MB/s', async (proxy, agent) => {
    const t0 = performance.now();
    const rs = await Promise.all([0, 1].map(() => timedRequest(proxy.port, agent, 'GET', `/${2 * MiB}`)));
    const together = (rs[0]!.bytes + rs[1]!.bytes) / ((performance.now() - t0) / 1000) / (8 * MiB);
    assert.equal(proxy.stats().connections, 2);
    assert.ok(together <= 1.2 && together >= 0.5, `two downloads together ran at ${together.toFixed(2)} x the cap`);
    const up = await timedRequest(proxy.port, agent, 'PUT', '/', Buffer.alloc(2 * MiB));
    const upRate = (2 * MiB) / up.seconds / (8 * MiB);
    assert.ok(upRate <= 1.2 && upRate >= 0.5, `upload ran at ${upRate.toFixed(2)} x the cap`);
  });
});
