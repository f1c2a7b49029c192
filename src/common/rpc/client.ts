/**
 * Calls a Strata API over HTTP (undici). Errors come back as StrataError with the server's code;
 * a server that does not answer becomes UNAVAILABLE within the configured timeout, naming it.
 */
import { Agent, type Dispatcher } from '../http-pool.js';
import type { Readable } from 'node:stream';
import type { Configuration } from '../config/configuration.js';
import type { WorkerAddress } from '../types.js';
import { StrataError, isErrorCode, toStrataError } from '../errors.js';
import { GROUP_HEADER, TOKEN_HEADER, USER_HEADER, type HttpServer } from './server.js';

export interface RpcIdentity {
  token?: string;
  user: string;
  group: string;
}

export type Query = Record<string, string | number | boolean | undefined>;

/** What callers of JSON control APIs need (an RpcClient, over HTTP or in process). */
export interface JsonCaller {
  call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, opts?: { query?: Query; body?: unknown }): Promise<T>;
}

/**
 * Servers running in this process, by the base URL clients name them with. A client given them
 * calls their JSON routes in process (HttpServer.invoke): a worker beside its master, a mount
 * inside its worker. Byte streams still go over HTTP.
 */
export type InProcessServers = ReadonlyMap<string, HttpServer>;

/** Where clients reach the master's API. */
export function masterUrl(conf: Configuration): string {
  return `http://${conf.get('strata.master.hostname')}:${conf.getInt('strata.master.rpc.port')}`;
}

/** Where clients reach a worker's API: also the key its server has among InProcessServers. */
export function workerUrl(address: WorkerAddress): string {
  return `http://${address.host}:${address.rpcPort}`;
}

let sharedAgent: Agent | undefined;
function agent(): Agent {
  // One pool per process; keep-alive connections are reused across calls.
  sharedAgent ??= new Agent({ connections: 64, keepAliveTimeout: 10_000, pipelining: 1 });
  return sharedAgent;
}

export async function closeRpcAgent(): Promise<void> {
  const a = sharedAgent;
  sharedAgent = undefined;
  await a?.close();
}

function queryString(query?: Query): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : '';
}

async function errorFrom(res: Dispatcher.ResponseData, what: string): Promise<StrataError> {
  const text = await res.body.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { code?: string; message?: string };
    if (isErrorCode(body.code)) return new StrataError(body.code, body.message ?? what, { remote: true });
  } catch {
    // Not a Strata error body.
  }
  return new StrataError('INTERNAL', `${what}: HTTP ${res.statusCode} ${text.slice(0, 200)}`);
}

export class RpcClient implements JsonCaller {
  /** Where requests go: scheme, host and port of baseUrl (the API's paths are absolute). */
  private readonly origin: string;

  constructor(
    readonly name: string,
    readonly baseUrl: string,
    private readonly identity: RpcIdentity,
    private readonly timeoutMs: number,
    /** The server itself, when it runs in this process: JSON calls then skip HTTP. */
    private readonly inProcess?: HttpServer,
  ) {
    this.origin = new URL(baseUrl).origin;
  }

  private headers(extra?: Record<string, string>): Record<string, string> {
    const h: Record<string, string> = { [USER_HEADER]: this.identity.user, [GROUP_HEADER]: this.identity.group, ...extra };
    if (this.identity.token) h[TOKEN_HEADER] = this.identity.token;
    return h;
  }

  private async send(method: Dispatcher.HttpMethod, path: string, opts: { query?: Query; body?: string | Readable; headers?: Record<string, string>; bodyTimeoutMs?: number }): Promise<Dispatcher.ResponseData> {
    try {
      const res = await agent().request({
        origin: this.origin,
        path: `${path}${queryString(opts.query)}`,
        method,
        headers: this.headers(opts.headers),
        body: opts.body,
        headersTimeout: this.timeoutMs,
        bodyTimeout: opts.bodyTimeoutMs ?? this.timeoutMs,
      });
      if (res.statusCode >= 400) throw await errorFrom(res, `${this.name} ${path}`);
      return res;
    } catch (err) {
      if (err instanceof StrataError) throw err;
      const e = toStrataError(err);
      if (e.code === 'UNAVAILABLE' || e.code === 'INTERNAL') {
        throw new StrataError('UNAVAILABLE', `${this.name} at ${this.baseUrl} is unavailable: ${(err as Error).message}`, { cause: err });
      }
      throw e;
    }
  }

  /** A JSON control call. */
  async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, opts: { query?: Query; body?: unknown } = {}): Promise<T> {
    if (this.inProcess) return this.invokeInProcess<T>(this.inProcess, method, path, opts);
    const res = await this.send(method, path, {
      query: opts.query,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      headers: opts.body === undefined ? undefined : { 'content-type': 'application/json' },
    });
    return (await res.body.json()) as T;
  }

  /** As over HTTP, an answer that does not come within the timeout is UNAVAILABLE (the call runs on). */
  private invokeInProcess<T>(server: HttpServer, method: 'GET' | 'POST' | 'DELETE', path: string, opts: { query?: Query; body?: unknown }): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new StrataError('UNAVAILABLE', `${this.name} (in this process) did not answer ${method} ${path} within ${this.timeoutMs} ms`)), this.timeoutMs);
      server.invoke<T>(method, path, { ...opts, user: this.identity.user, group: this.identity.group }).then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  /** A data call whose response body is a byte stream. */
  async download(path: string, query: Query): Promise<Dispatcher.ResponseData> {
    return this.send('GET', path, { query, bodyTimeoutMs: this.timeoutMs * 6 });
  }

  /** A data call that streams a request body and answers JSON. */
  async upload<T>(path: string, query: Query, body: Readable): Promise<T> {
    const res = await this.send('PUT', path, { query, body, headers: { 'content-type': 'application/octet-stream' }, bodyTimeoutMs: this.timeoutMs * 6 });
    return (await res.body.json()) as T;
  }
}
