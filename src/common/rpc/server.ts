/**
 * A small HTTP server for Strata's APIs: exact-path routes, JSON in and out for control calls,
 * raw request/response access for data streams, the cluster token checked on every call, and
 * StrataError mapped to its HTTP status. Control is JSON so that curl can drive a cluster.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { StrataError, toStrataError } from '../errors.js';
import type { Logger } from '../logging.js';
import type { Query } from './client.js';

export const TOKEN_HEADER = 'x-strata-token';
export const USER_HEADER = 'x-strata-user';
export const GROUP_HEADER = 'x-strata-group';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  query: URLSearchParams;
  user: string;
  group: string;
  /** Parses the JSON body (control calls). */
  json<T>(): Promise<T>;
}

/** Returned by a handler that wrote the response itself. */
export const RAW = Symbol('raw-response');

export type Handler = (ctx: RequestContext) => Promise<unknown> | unknown;

function sameToken(given: string | undefined, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function readJson<T>(req: IncomingMessage): Promise<T> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 64 << 20) throw new StrataError('INVALID_ARGUMENT', 'Request body over 64 MiB');
    chunks.push(chunk);
  }
  if (size === 0) return {} as T;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
  } catch {
    throw new StrataError('INVALID_ARGUMENT', 'Request body is not JSON');
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body ?? null);
  res.writeHead(status, { ...res.getHeaders(), 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export class HttpServer {
  private readonly routes = new Map<string, Handler>();
  private readonly server: Server;
  /** Paths served without the token (health checks, metrics). */
  private readonly open = new Set<string>();
  /** Routes whose answers are built anew on each call and kept by no one (see invoke). */
  private readonly fresh = new Set<string>();

  constructor(
    private readonly opts: {
      name: string;
      token?: string;
      logger: Logger;
      /** Told of each request that reached a route ("GET /api/v1/list"), as it arrives. */
      onRequest?: (route: string, transport: 'http' | 'in-process') => void;
    },
  ) {
    this.server = createServer((req, res) => void this.dispatch(req, res));
    this.server.keepAliveTimeout = 30_000;
  }

  /**
   * `open`: answered without the cluster token. `fresh`: the handler's answer is made of new
   * objects on every call, none of them kept by the server, so a caller in this process may take
   * it as it is (a folder listing copied through JSON cost as much as building it).
   */
  route(method: string, path: string, handler: Handler, options: { open?: boolean; fresh?: boolean } = {}): this {
    this.routes.set(`${method} ${path}`, handler);
    if (options.open) this.open.add(`${method} ${path}`);
    if (options.fresh) this.fresh.add(`${method} ${path}`);
    return this;
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const key = `${req.method} ${url.pathname}`;
    try {
      const handler = this.routes.get(key);
      if (!handler) throw new StrataError('NOT_FOUND', `No such API: ${req.method} ${url.pathname}`);
      this.opts.onRequest?.(key, 'http');
      if (this.opts.token && !this.open.has(key) && !sameToken(req.headers[TOKEN_HEADER] as string | undefined, this.opts.token)) {
        throw new StrataError('UNAUTHENTICATED', `${this.opts.name}: missing or wrong cluster token (strata.security.token)`);
      }
      const ctx: RequestContext = {
        req,
        res,
        query: url.searchParams,
        user: (req.headers[USER_HEADER] as string | undefined) ?? 'anonymous',
        group: (req.headers[GROUP_HEADER] as string | undefined) ?? 'anonymous',
        json: <T>() => readJson<T>(req),
      };
      const result = await handler(ctx);
      if (result !== RAW) sendJson(res, 200, result);
    } catch (err) {
      const e = toStrataError(err);
      if (e.code === 'INTERNAL') this.opts.logger.error({ err, path: url.pathname }, 'request failed');
      if (!res.headersSent) {
        // A request body left unread (a write refused half way): read and drop the rest, and
        // never close first. Closing with unread bytes sends a reset that can overtake the
        // answer, and the client would see a broken connection (EPIPE) instead of the error.
        if (!req.complete) req.resume();
        sendJson(res, e.httpStatus, e.toJSON());
      }
      else res.destroy(e);
    }
  }

  /**
   * Runs a JSON route in this process as if it came over HTTP: arguments and answer go through
   * JSON, errors are the same StrataErrors, and it is counted as a request. A worker sharing a
   * process with its master (`strata local`), or a mount inside its worker, calls without a
   * loopback round trip.
   */
  async invoke<T>(method: string, path: string, opts: { query?: Query; body?: unknown; user: string; group: string }): Promise<T> {
    const key = `${method} ${path}`;
    const handler = this.routes.get(key);
    if (!handler) throw new StrataError('NOT_FOUND', `No such API: ${method} ${path}`);
    this.opts.onRequest?.(key, 'in-process');
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) query.set(k, String(v));
    const body: unknown = opts.body === undefined ? {} : JSON.parse(JSON.stringify(opts.body));
    const streamsOnly = (): never => {
      throw new StrataError('INTERNAL', `${method} ${path} streams its answer and cannot be called in process`);
    };
    const ctx: RequestContext = {
      get req() {
        return streamsOnly();
      },
      get res() {
        return streamsOnly();
      },
      query,
      user: opts.user,
      group: opts.group,
      json: async <J>() => body as J,
    };
    const result = await handler(ctx);
    if (result === RAW) streamsOnly();
    if (this.fresh.has(key) && result !== undefined) return result as T;
    return JSON.parse(JSON.stringify(result ?? null)) as T;
  }

  async listen(port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        reject(
          err.code === 'EADDRINUSE'
            ? new StrataError('UNAVAILABLE', `${this.opts.name}: port ${host}:${port} is already in use`)
            : toStrataError(err, `${this.opts.name}: listen on ${host}:${port}`),
        );
      };
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
      setTimeout(() => this.server.closeAllConnections(), 2000).unref();
    });
  }
}
