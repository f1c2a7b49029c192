/**
 * The client library: Alluxio's FileSystem API over the master's and workers' HTTP APIs.
 * Used by the shell, the FUSE mount and programs.
 */
import type { Configuration } from '../common/config/configuration.js';
import { StrataError } from '../common/errors.js';
import { normalizePath } from '../common/paths.js';
import { RpcClient, closeRpcAgent, masterUrl, type InProcessServers } from '../common/rpc/client.js';
import { identityFrom } from '../common/security.js';
import { ufsSourceOf, type FileInfo, type MountPointInfo, type ReadType, type SetAttributeOptions, type TierUsage, type UfsBlockSource, type WorkerAddress, type WorkerInfo, type WriteType } from '../common/types.js';

export type { SetAttributeOptions };
import { LeaseKeeper, ShortCircuitReader, WorkerClients, leaseKeeper } from './block-source.js';
import { FileInStream } from './file-in-stream.js';
import { FileOutStream } from './file-out-stream.js';
import { WorkerPicker, addressKey, isLocalHost } from './worker-picker.js';

export interface CreateFileOptions {
  writeType?: WriteType;
  blockSize?: number;
  recursive?: boolean;
  overwrite?: boolean;
  mode?: number;
}


export class FileSystem {
  readonly master: RpcClient;
  readonly picker: WorkerPicker;
  private readonly workers: WorkerClients;

  /**
   * `inProcess`: the master and workers that run in this process (a mount inside its worker),
   * called without HTTP. Such a client shares the process's connections and leaves them open
   * when closed.
   */
  constructor(
    readonly conf: Configuration,
    private readonly opts: { inProcess?: InProcessServers } = {},
  ) {
    const identity = identityFrom(conf);
    const timeout = conf.getMs('strata.user.rpc.timeout');
    const master = masterUrl(conf);
    this.master = new RpcClient('master', master, identity, timeout, opts.inProcess?.get(master));
    this.workers = new WorkerClients(identity, timeout, opts.inProcess);
    this.picker = new WorkerPicker(this.master);
  }

  /** The caller's metadata sync interval, sent with each lookup as Alluxio's client does. */
  get syncInterval(): number {
    return this.conf.getMs('strata.user.file.metadata.sync.interval');
  }

  get readType(): ReadType {
    return this.conf.getEnum('strata.user.file.readtype.default');
  }

  get writeType(): WriteType {
    return this.conf.getEnum('strata.user.file.writetype.default');
  }

  async getStatus(path: string, opts: { blocks?: boolean; sync?: boolean } = {}): Promise<FileInfo> {
    return this.master.call('GET', '/api/v1/status', { query: { path: normalizePath(path), blocks: opts.blocks, sync: opts.sync, syncInterval: this.syncInterval } });
  }

  async exists(path: string): Promise<boolean> {
    try {
      await this.getStatus(path);
      return true;
    } catch (err) {
      if (StrataError.isCode(err, 'NOT_FOUND')) return false;
      throw err;
    }
  }

  /** The entries of a folder; `blocks` adds each file's blocks and where they are cached. */
  async listStatus(path: string, opts: { recursive?: boolean; sync?: boolean; blocks?: boolean } = {}): Promise<FileInfo[]> {
    return this.master.call('GET', '/api/v1/list', {
      query: { path: normalizePath(path), recursive: opts.recursive, sync: opts.sync, blocks: opts.blocks, syncInterval: this.syncInterval },
    });
  }

  async createDirectory(path: string, opts: { recursive?: boolean; allowExists?: boolean; writeType?: WriteType; mode?: number } = {}): Promise<FileInfo> {
    return this.master.call('POST', '/api/v1/mkdir', { body: { path: normalizePath(path), ...opts, writeType: opts.writeType ?? this.writeType } });
  }

  async createFile(path: string, opts: CreateFileOptions = {}): Promise<FileOutStream> {
    const writeType = opts.writeType ?? this.writeType;
    const info = await this.master.call<FileInfo>('POST', '/api/v1/create', {
      body: {
        path: normalizePath(path),
        writeType,
        blockSize: opts.blockSize ?? this.conf.getBytes('strata.user.block.size.bytes.default'),
        recursive: opts.recursive,
        overwrite: opts.overwrite,
        mode: opts.mode,
      },
    });
    try {
      const worker = await this.picker.home(info.fileId);
      return new FileOutStream(info, writeType, this.workers.of(worker), this.master);
    } catch (err) {
      await this.delete(info.path, { alluxioOnly: true }).catch(() => undefined);
      throw err;
    }
  }

  /** Opens a file to read; `info` (with blocks), when the caller just fetched it, saves a master call. */
  async openFile(path: string, opts: { readType?: ReadType; info?: FileInfo } = {}): Promise<FileInStream> {
    const info = opts.info?.blocks && opts.info.path === path ? opts.info : await this.getStatus(path, { blocks: true });
    if (info.folder) throw new StrataError('IS_A_DIRECTORY', `${info.path} is a folder, not a file`);
    if (!info.completed) throw new StrataError('FAILED_PRECONDITION', `${info.path} is still being written`);
    return new FileInStream(info, {
      picker: this.picker,
      workers: this.workers,
      refresh: () => this.getStatus(info.path, { blocks: true }),
      readType: opts.readType ?? this.readType,
      shortCircuit: this.conf.getBool('strata.user.short.circuit.enabled'),
      leaseKeeper: (worker) => this.leaseKeeper(worker),
      readAheadMax: this.conf.getBytes('strata.user.file.readahead.max'),
      chunkSize: this.conf.getBytes('strata.user.streaming.reader.chunk.size.bytes'),
    });
  }

  /** A reader of cached blocks of a file on a worker on this host (short-circuit), or undefined. */
  /** A worker on this host whose cache files this client may read itself (short-circuit). */
  localWorkerClient(address: WorkerAddress): RpcClient | undefined {
    if (!isLocalHost(address.host) || !this.conf.getBool('strata.user.short.circuit.enabled')) return undefined;
    return this.workers.of(address);
  }

  localWorkerReader(address: WorkerAddress): ShortCircuitReader | undefined {
    const client = this.localWorkerClient(address);
    return client && new ShortCircuitReader(client, this.leaseKeeper(client));
  }

  /** Renews the leases held on a worker, a few times within the workers' lease timeout. */
  leaseKeeper(worker: RpcClient): LeaseKeeper {
    return leaseKeeper(worker, Math.max(1000, this.conf.getMs('strata.worker.shortcircuit.lease.timeout') / 4));
  }

  async delete(path: string, opts: { recursive?: boolean; alluxioOnly?: boolean } = {}): Promise<void> {
    await this.master.call('POST', '/api/v1/delete', { body: { path: normalizePath(path), ...opts } });
  }

  async rename(src: string, dst: string): Promise<FileInfo> {
    return this.master.call('POST', '/api/v1/rename', { body: { src: normalizePath(src), dst: normalizePath(dst) } });
  }

  async mount(path: string, ufsUri: string, opts: { readOnly?: boolean; shared?: boolean; options?: Record<string, string> } = {}): Promise<void> {
    await this.master.call('POST', '/api/v1/mount', { body: { path: normalizePath(path), ufsUri, ...opts } });
  }

  async unmount(path: string): Promise<void> {
    await this.master.call('POST', '/api/v1/unmount', { body: { path: normalizePath(path) } });
  }

  async getMountTable(): Promise<MountPointInfo[]> {
    return this.master.call('GET', '/api/v1/mounts');
  }

  async free(path: string, opts: { forced?: boolean } = {}): Promise<number> {
    return (await this.master.call<{ files: number }>('POST', '/api/v1/free', { body: { path: normalizePath(path), ...opts } })).files;
  }

  async persist(path: string): Promise<FileInfo> {
    return this.master.call('POST', '/api/v1/persist', { body: { path: normalizePath(path) } });
  }

  async setAttribute(path: string, opts: SetAttributeOptions): Promise<void> {
    await this.master.call('POST', '/api/v1/setattr', { body: { path: normalizePath(path), ...opts } });
  }

  /** Caches every block of a file that is not cached yet (fs load). */
  async load(path: string): Promise<{ blocks: number; loaded: number }> {
    const info = await this.getStatus(path, { blocks: true });
    if (info.folder) throw new StrataError('IS_A_DIRECTORY', `${info.path} is a folder`);
    if (info.persistenceState !== 'PERSISTED') {
      if (info.inAlluxioPercentage === 100) return { blocks: info.blocks!.length, loaded: 0 };
      throw new StrataError('FAILED_PRECONDITION', `Cannot load ${info.path}: it is ${info.persistenceState} and not wholly cached`);
    }
    let loaded = 0;
    const worker = this.workers.of(await this.picker.home(info.fileId));
    for (const b of info.blocks!) {
      if (b.locations.length > 0) continue;
      await worker.call('POST', '/api/v1/load', {
        body: { fileId: info.fileId, index: b.index, source: ufsSourceOf(info) },
      });
      loaded++;
    }
    return { blocks: info.blocks!.length, loaded };
  }

  /**
   * Has the files' blocks that no worker caches loaded in the background by their home workers
   * (files listed with blocks; persisted ones only). Answers how many blocks were queued.
   */
  async prefetch(files: FileInfo[]): Promise<number> {
    const byWorker = new Map<string, { address: WorkerAddress; blocks: Array<{ fileId: number; index: number; source: UfsBlockSource }> }>();
    for (const f of files) {
      if (f.folder || f.persistenceState !== 'PERSISTED' || !f.blocks) continue;
      const cold = f.blocks.filter((b) => b.locations.length === 0);
      if (cold.length === 0) continue;
      const address = await this.picker.home(f.fileId);
      const key = addressKey(address);
      let entry = byWorker.get(key);
      if (!entry) byWorker.set(key, (entry = { address, blocks: [] }));
      for (const b of cold) entry.blocks.push({ fileId: f.fileId, index: b.index, source: ufsSourceOf(f) });
    }
    let queued = 0;
    for (const { address, blocks } of byWorker.values()) {
      const r = await this.workers.of(address).call<{ queued: number }>('POST', '/api/v1/prefetch', { body: { blocks } });
      queued += r.queued;
    }
    return queued;
  }

  /** Blocks a worker's prefetches loaded since cursor `after`, and the cursor to ask with next. */
  prefetchLoaded(address: WorkerAddress, after: number): Promise<{ next: number; blockIds: number[] }> {
    return this.workers.of(address).call('GET', '/api/v1/prefetch/loaded', { query: { after } });
  }

  /**
   * Blocks a worker has removed from its cache (freed, deleted) whose bytes leases still hold: a
   * holder that keeps files open only for their next open should let them go.
   */
  async removedButLeased(address: WorkerAddress): Promise<number[]> {
    return (await this.workers.of(address).call<{ blockIds: number[] }>('GET', '/api/v1/leases/wanted')).blockIds;
  }

  async listWorkers(): Promise<WorkerInfo[]> {
    return this.master.call('GET', '/api/v1/workers');
  }

  async capacity(): Promise<{ tiers: TierUsage[]; workers: WorkerInfo[] }> {
    return this.master.call('GET', '/api/v1/capacity');
  }

  async close(): Promise<void> {
    if (!this.opts.inProcess) await closeRpcAgent();
  }
}
