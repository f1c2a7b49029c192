/**
 * A client given its server in the same process: a JSON call gets the same answer and the same
 * error as over HTTP, is counted as in-process beside the HTTP ones, and one that hangs becomes
 * UNAVAILABLE after the client's timeout, as over HTTP.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { StrataError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/logging.js';
import { newRegistry, rpcServer } from '../../src/common/metrics.js';
import { RpcClient } from '../../src/common/rpc/client.js';

const registry = newRegistry('worker', false);
const server = rpcServer('test', registry, { token: 'secret', logger: silentLogger })
  .route('POST', '/api/v1/echo', async (ctx) => ({ user: ctx.user, body: await ctx.json<unknown>(), n: Number(ctx.query.get('n')) }))
  .route('GET', '/api/v1/missing', () => {
    throw new StrataError('NOT_FOUND', 'no such thing');
  })
  .route('GET', '/api/v1/hang', () => new Promise(() => undefined));
const port = await server.listen(0, '127.0.0.1');
const url = `http://127.0.0.1:${port}`;
const identity = { user: 'alice', group: 'staff', token: 'secret' };
const overHttp = new RpcClient('test', url, identity, 300);
const inProcess = new RpcClient('test', url, identity, 300, server);
after(() => server.close());

async function served(transport: string): Promise<number> {
  const values = (await registry.getSingleMetric('strata_rpc_requests_total')!.get()).values;
  return values.filter((v) => v.labels.transport === transport).reduce((a, v) => a + v.value, 0);
}

test('answers and errors are the same in process as over HTTP, and counted by transport', async () => {
  const call = (c: RpcClient) => c.call('POST', '/api/v1/echo', { query: { n: 7 }, body: { a: [1, 'x'] } });
  assert.deepEqual(await call(inProcess), await call(overHttp));
  assert.deepEqual(await call(inProcess), { user: 'alice', body: { a: [1, 'x'] }, n: 7 });
  for (const c of [overHttp, inProcess]) {
    await assert.rejects(c.call('GET', '/api/v1/missing'), (err: unknown) => StrataError.isCode(err, 'NOT_FOUND') && /no such thing/.test((err as Error).message));
  }
  assert.equal(await served('http'), 2);
  assert.equal(await served('in-process'), 3);
});

test('an in-process call that does not answer is UNAVAILABLE after the timeout, as over HTTP', { timeout: 10_000 }, async () => {
  for (const c of [overHttp, inProcess]) {
    await assert.rejects(c.call('GET', '/api/v1/hang'), (err: unknown) => StrataError.isCode(err, 'UNAVAILABLE'));
  }
  await assert.rejects(inProcess.call('GET', '/api/v1/hang'), /did not answer GET \/api\/v1\/hang within 300 ms/);
});
