/** The master's HTTP API: JSON control calls for clients and workers. */
import { StrataError } from '../common/errors.js';
import type { HttpServer, RequestContext } from '../common/rpc/server.js';
import { TTL_ACTIONS, WRITE_TYPES, type SetAttributeOptions, type TtlAction, type WorkerHeartbeat, type WorkerRegistration, type WriteType } from '../common/types.js';
import type { Counter } from '../common/metrics.js';
import type { Jobs } from './jobs.js';
import type { MountTable } from './mount-table.js';
import type { Namespace } from './namespace.js';
import type { MetaStore } from './metastore.js';
import type { WorkerRegistry } from './worker-registry.js';

export interface MasterApiDeps {
  namespace: Namespace;
  mounts: MountTable;
  workers: WorkerRegistry;
  store: MetaStore;
  jobs: Jobs;
  operations: Counter<'op'>;
  startTimeMs: number;
}

function str(q: URLSearchParams, name: string): string {
  const v = q.get(name);
  if (v === null) throw new StrataError('INVALID_ARGUMENT', `Missing parameter ${name}`);
  return v;
}

function need<T>(value: T | undefined, name: string): T {
  if (value === undefined || value === null) throw new StrataError('INVALID_ARGUMENT', `Missing field ${name}`);
  return value;
}

function writeTypeOf(v: unknown): WriteType {
  if (!WRITE_TYPES.includes(v as WriteType)) throw new StrataError('INVALID_ARGUMENT', `Unknown write type ${String(v)}: expected one of ${WRITE_TYPES.join(', ')}`);
  return v as WriteType;
}

export function registerMasterApi(server: HttpServer, d: MasterApiDeps): void {
  const caller = (ctx: RequestContext) => ({ user: ctx.user, group: ctx.group });
  const op = (name: string, fn: (ctx: RequestContext) => unknown) => async (ctx: RequestContext) => {
    d.operations.inc({ op: name });
    return fn(ctx);
  };
  const flag = (q: URLSearchParams, n: string) => q.get(n) === 'true' || q.get(n) === '1';
  const sync = (q: URLSearchParams) => ({
    forceSync: flag(q, 'sync'),
    syncIntervalMs: q.get('syncInterval') === null ? undefined : Number(q.get('syncInterval')),
  });

  server
    .route('GET', '/health', () => ({ ok: true, startTimeMs: d.startTimeMs }), { open: true })
    .route('GET', '/api/v1/status', op('getStatus', (ctx) =>
      d.namespace.getStatus(str(ctx.query, 'path'), caller(ctx), { blocks: flag(ctx.query, 'blocks'), ...sync(ctx.query) })), { fresh: true })
    .route('GET', '/api/v1/list', op('listStatus', (ctx) =>
      d.namespace.listStatus(str(ctx.query, 'path'), caller(ctx), { recursive: flag(ctx.query, 'recursive'), blocks: flag(ctx.query, 'blocks'), ...sync(ctx.query) })), { fresh: true })
    .route('POST', '/api/v1/mkdir', op('createDirectory', async (ctx) => {
      const b = await ctx.json<{ path: string; recursive?: boolean; allowExists?: boolean; writeType?: WriteType; mode?: number }>();
      return d.namespace.createDirectory(need(b.path, 'path'), caller(ctx), {
        recursive: b.recursive,
        allowExists: b.allowExists,
        persist: b.writeType ? writeTypeOf(b.writeType) !== 'MUST_CACHE' : true,
        mode: b.mode,
      });
    }))
    .route('POST', '/api/v1/create', op('createFile', async (ctx) => {
      const b = await ctx.json<{ path: string; recursive?: boolean; blockSize?: number; mode?: number; writeType: WriteType; overwrite?: boolean }>();
      return d.namespace.createFile(need(b.path, 'path'), caller(ctx), { ...b, writeType: writeTypeOf(b.writeType) });
    }))
    .route('POST', '/api/v1/complete', op('completeFile', async (ctx) => {
      const b = await ctx.json<{ fileId: number; length: number; writeType: WriteType; fingerprint?: string; ufsMtimeMs?: number }>();
      return d.namespace.completeFile(need(b.fileId, 'fileId'), { ...b, writeType: writeTypeOf(b.writeType) });
    }))
    .route('POST', '/api/v1/delete', op('delete', async (ctx) => {
      const b = await ctx.json<{ path: string; recursive?: boolean; alluxioOnly?: boolean }>();
      await d.namespace.delete(need(b.path, 'path'), caller(ctx), { recursive: !!b.recursive, alluxioOnly: b.alluxioOnly });
      return {};
    }))
    .route('POST', '/api/v1/rename', op('rename', async (ctx) => {
      const b = await ctx.json<{ src: string; dst: string }>();
      return d.namespace.rename(need(b.src, 'src'), need(b.dst, 'dst'), caller(ctx));
    }))
    .route('POST', '/api/v1/mount', op('mount', async (ctx) => {
      const b = await ctx.json<{ path: string; ufsUri: string; readOnly?: boolean; shared?: boolean; options?: Record<string, string> }>();
      await d.namespace.mount(need(b.path, 'path'), need(b.ufsUri, 'ufsUri'), caller(ctx), b);
      return {};
    }))
    .route('POST', '/api/v1/unmount', op('unmount', async (ctx) => {
      const b = await ctx.json<{ path: string }>();
      await d.namespace.unmount(need(b.path, 'path'), caller(ctx));
      return {};
    }))
    .route('GET', '/api/v1/mounts', op('getMountTable', () => d.mounts.list()))
    .route('POST', '/api/v1/free', op('free', async (ctx) => {
      const b = await ctx.json<{ path: string; forced?: boolean }>();
      return { files: await d.namespace.free(need(b.path, 'path'), caller(ctx), { forced: b.forced }) };
    }))
    .route('POST', '/api/v1/persist', op('persist', async (ctx) => {
      const b = await ctx.json<{ path: string }>();
      const info = await d.namespace.getStatus(need(b.path, 'path'), caller(ctx));
      if (info.folder) throw new StrataError('INVALID_ARGUMENT', `${info.path} is a folder: persist takes files`);
      if (info.persistenceState !== 'PERSISTED') await d.jobs.persist(d.store.get(info.fileId)!);
      return d.namespace.getStatus(info.path, caller(ctx));
    }))
    .route('POST', '/api/v1/setattr', op('setAttribute', async (ctx) => {
      const b = await ctx.json<SetAttributeOptions & { path: string }>();
      if (b.ttlAction !== undefined && !TTL_ACTIONS.includes(b.ttlAction.toUpperCase() as TtlAction)) {
        throw new StrataError('INVALID_ARGUMENT', `Unknown TTL action ${b.ttlAction}: expected free or delete`);
      }
      await d.namespace.setAttribute(need(b.path, 'path'), caller(ctx), { ...b, ttlAction: b.ttlAction?.toUpperCase() as TtlAction | undefined });
      return {};
    }))
    .route('GET', '/api/v1/workers', () => d.workers.list())
    .route('GET', '/api/v1/capacity', () => ({ tiers: d.workers.capacity(), workers: d.workers.list() }))
    // Worker-facing calls.
    .route('POST', '/api/v1/worker/register', async (ctx) => ({ workerId: d.workers.register(await ctx.json<WorkerRegistration>()) }))
    .route('POST', '/api/v1/worker/heartbeat', async (ctx) => d.workers.heartbeat(await ctx.json<WorkerHeartbeat>()))
    .route('POST', '/api/v1/worker/commit', async (ctx) => {
      const b = await ctx.json<{ workerId: number; blocks: Record<string, number[]> }>();
      if (!d.workers.get(b.workerId)) throw new StrataError('NOT_FOUND', `Worker ${b.workerId} is not registered`);
      d.workers.addBlocks(b.workerId, b.blocks);
      return {};
    })
    .route('GET', '/api/v1/worker/mount', (ctx) => {
      const m = d.mounts.list({ secrets: true }).find((x) => x.mountId === Number(str(ctx.query, 'id')));
      if (!m) throw new StrataError('NOT_FOUND', `Mount ${ctx.query.get('id')} does not exist`);
      return m;
    })
    .route('GET', '/api/v1/worker/file', (ctx) => d.namespace.getStatusById(Number(str(ctx.query, 'id'))));
}
