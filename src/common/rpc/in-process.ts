/**
 * The control-call side of an RpcClient, answered by an HttpServer in this same process.
 */
import type { Query, RpcIdentity } from './client.js';
import type { HttpServer } from './server.js';

/** What callers of JSON control APIs need, over HTTP (RpcClient) or in process. */
export interface JsonCaller {
  call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, opts?: { query?: Query; body?: unknown }): Promise<T>;
}

export class InProcessClient implements JsonCaller {
  constructor(
    private readonly server: HttpServer,
    private readonly identity: RpcIdentity,
  ) {}

  call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, opts: { query?: Query; body?: unknown } = {}): Promise<T> {
    return this.server.invoke<T>(method, path, { ...opts, user: this.identity.user, group: this.identity.group });
  }
}
