/**
 * Chooses workers for a client: a worker on this host first (short-circuit, no network), then a
 * worker that already caches the block, then a stable choice by file id so that one file's
 * blocks gather on one worker. Workers this client found dead are avoided until the master
 * reports them again after a re-registration.
 */
import { hostname } from 'node:os';
import { StrataError } from '../common/errors.js';
import type { RpcClient } from '../common/rpc/client.js';
import type { BlockLocation, WorkerAddress, WorkerInfo } from '../common/types.js';

const LOCAL_NAMES = new Set(['localhost', '127.0.0.1', '::1', hostname()]);

export function isLocalHost(host: string): boolean {
  return LOCAL_NAMES.has(host) || host.startsWith('127.');
}

export const addressKey = (a: WorkerAddress): string => `${a.host}:${a.rpcPort}`;

/** How long the master's list of workers is trusted. */
const WORKERS_TTL_MS = 2000;

export class WorkerPicker {
  private cached?: { at: number; workers: WorkerInfo[] };
  /** The list being fetched: every caller that finds the list stale meanwhile waits for this one. */
  private loading?: Promise<void>;
  private readonly dead = new Map<string, number>();

  constructor(private readonly master: RpcClient) {}

  /** `refresh`: ask the master now, not joining a request sent before (a worker just failed). */
  async live(refresh = false): Promise<WorkerInfo[]> {
    if (refresh) await this.load();
    else if (!this.cached || Date.now() - this.cached.at > WORKERS_TTL_MS) await (this.loading ??= this.load().finally(() => (this.loading = undefined)));
    return this.cached!.workers.filter((w) => w.state === 'LIVE' && !this.isDead(w.address));
  }

  private async load(): Promise<void> {
    const asked = Date.now();
    const workers = await this.master.call<WorkerInfo[]>('GET', '/api/v1/workers');
    // A forced refresh sent later may have answered first: the older answer does not replace it.
    if (!this.cached || this.cached.at <= asked) this.cached = { at: asked, workers };
  }

  markDead(address: WorkerAddress): void {
    this.dead.set(addressKey(address), Date.now());
  }

  isDead(address: WorkerAddress): boolean {
    const at = this.dead.get(addressKey(address));
    return at !== undefined && Date.now() - at < 30_000;
  }

  /** This machine's worker, when exactly one is live here (its cache files can be leased and opened). */
  async onlyLocal(): Promise<WorkerAddress | undefined> {
    const local = (await this.live()).filter((w) => isLocalHost(w.address.host));
    return local.length === 1 ? local[0]!.address : undefined;
  }

  /** The worker that caches new blocks of a file read or written by this client. */
  async home(fileId: number): Promise<WorkerAddress> {
    const live = (await this.live()).sort((a, b) => a.id - b.id);
    if (live.length === 0) throw new StrataError('UNAVAILABLE', 'No live worker: start one with strata worker or strata local start');
    const local = live.filter((w) => isLocalHost(w.address.host));
    const pool = local.length > 0 ? local : live;
    return pool[fileId % pool.length]!.address;
  }

  /** A live location of a cached block, local first. */
  bestLocation(locations: BlockLocation[]): BlockLocation | undefined {
    const usable = locations.filter((l) => !this.isDead(l.address));
    return usable.find((l) => isLocalHost(l.address.host)) ?? usable[0];
  }
}
