/**
 * Metrics (prom-client). Each daemon role has its own registry, served on its web port, so a
 * local master+worker process shows each role's metrics on that role's port.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { HttpServer, RAW as RAW_SENT } from './rpc/server.js';
import type { Logger } from './logging.js';

export { Counter, Gauge, Registry };

export function newRegistry(role: string, withProcessMetrics: boolean): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  // The event loop's delay sampled every 100 ms, not prom-client's 10: an idle `strata local`
  // woke 100 times a second for it, half its idle CPU (280 against 150 ms per 30 s).
  if (withProcessMetrics) collectDefaultMetrics({ register: registry, prefix: 'strata_', eventLoopMonitoringPrecision: 100 });
  return registry;
}

/**
 * The API server of a role, counting its requests by route on the role's registry: what a job
 * costs the master and workers in calls shows in their metrics.
 */
export function rpcServer(name: string, registry: Registry, opts: { token?: string; logger: Logger }): HttpServer {
  const requests = new Counter({
    name: 'strata_rpc_requests_total',
    help: 'API requests served, by route (method and path) and transport (http, or in-process for callers in the same process)',
    labelNames: ['route', 'transport'] as const,
    registers: [registry],
  });
  return new HttpServer({ name, ...opts, onRequest: (route, transport) => requests.inc({ route, transport }) });
}

/** The web server of a role: /metrics and a JSON status, both open (no secrets in them). */
export function webServer(name: string, registry: Registry, status: () => unknown, logger: Logger): HttpServer {
  return new HttpServer({ name, logger })
    .route('GET', '/metrics', async (ctx) => {
      const text = await registry.metrics();
      ctx.res.writeHead(200, { 'content-type': registry.contentType });
      ctx.res.end(text);
      return RAW_SENT;
    }, { open: true })
    .route('GET', '/api/v1/status', () => status(), { open: true });
}

