/**
 * Mounting and unmounting a Strata folder with FUSE: checks on the mount point (busy, not
 * empty, a dead mount left by a killed daemon is cleared first), the device and mount(2) (or
 * fusermount3 for a user that is not root), the session, and the kernel read-ahead raised so
 * sequential readers get 1 MiB READs.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, statfsSync, writeFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import type { Configuration } from '../common/config/configuration.js';
import { StrataError } from '../common/errors.js';
import type { Logger } from '../common/logging.js';
import type { InProcessServers } from '../common/rpc/client.js';
import { native } from '../common/native.js';
import { systemMounts, type SystemMount } from '../common/system-mounts.js';
import { FileSystem } from '../client/file-system.js';
import { FuseOps, XATTR_PREFIX } from './fuse-ops.js';
import { FuseSession } from './session.js';
import { Vfs } from './vfs/vfs.js';

const isRoot = () => process.getuid?.() === 0;

/** Mount points of FUSE file systems. */
export function fuseMounts(): SystemMount[] {
  return systemMounts().filter((m) => m.type.startsWith('fuse'));
}

export function unmountPoint(mountPoint: string, lazy: boolean): void {
  if (isRoot()) {
    native().fuseUnmount(mountPoint, lazy);
  } else {
    execFileSync('fusermount3', ['-u', ...(lazy ? ['-z'] : []), mountPoint], { stdio: 'pipe' });
  }
}

/** Readies the mount point: created if missing, a dead mount cleared, busy or non-empty refused. */
export function prepareMountPoint(mountPoint: string, logger: Logger): void {
  const mounted = fuseMounts().some((m) => m.target === mountPoint);
  if (mounted) {
    // statfs always reaches the daemon (stat may be answered from the kernel's attr cache).
    let alive = true;
    try {
      statfsSync(mountPoint);
    } catch (err) {
      alive = (err as NodeJS.ErrnoException).code !== 'ENOTCONN';
    }
    if (alive) throw new StrataError('ALREADY_EXISTS', `Mount point ${mountPoint} is busy: something is already mounted there`);
    logger.warn({ mountPoint }, 'clearing a dead FUSE mount left by a daemon that was killed');
    unmountPoint(mountPoint, true);
  }
  if (!existsSync(mountPoint)) mkdirSync(mountPoint, { recursive: true });
  if (!statSync(mountPoint).isDirectory()) throw new StrataError('INVALID_ARGUMENT', `Mount point ${mountPoint} is not a folder`);
  if (readdirSync(mountPoint).length > 0) throw new StrataError('ALREADY_EXISTS', `Mount point ${mountPoint} is not empty`);
}

function devNumbers(dev: number): { major: number; minor: number } {
  const d = BigInt(dev);
  return {
    major: Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn)),
    minor: Number((d & 0xffn) | ((d >> 12n) & ~0xffn)),
  };
}

export interface MountOptions {
  mountPoint: string;
  strataPath: string;
  conf: Configuration;
  logger: Logger;
  /** The master and worker, when the mount runs inside their process (strata.worker.fuse.enabled). */
  inProcess?: InProcessServers;
}

export class FuseMount {
  private constructor(
    readonly mountPoint: string,
    readonly strataPath: string,
    readonly session: FuseSession,
    readonly ops: FuseOps,
    private readonly fs: FileSystem,
  ) {}

  static async mount(o: MountOptions): Promise<FuseMount> {
    const mountPoint = resolve(o.mountPoint);
    const fs = new FileSystem(o.conf, { inProcess: o.inProcess });
    const root = await fs.getStatus(o.strataPath);
    if (!root.folder) throw new StrataError('INVALID_ARGUMENT', `${root.path} is a file: fuse mount takes a folder`);
    prepareMountPoint(mountPoint, o.logger);
    const conf = o.conf;
    const maxRead = conf.getBytes('strata.fuse.max.read');
    const vfs = new Vfs(fs, {
      root: root.path,
      scratchDir: conf.get('strata.fuse.scratch.dir'),
      metadataExpiryMs: conf.getMs('strata.fuse.metadata.cache.expiry'),
      metadataMaxEntries: conf.getInt('strata.fuse.metadata.cache.size'),
      readType: fs.readType,
      writeType: fs.writeType,
      umask: Number.parseInt(conf.get('strata.security.authorization.permission.umask'), 8),
      logger: o.logger,
      warmHandles: {
        idleMs: conf.getMs('strata.fuse.open.cache.idle'),
        maxIdle: conf.getInt('strata.fuse.open.cache.max.idle'),
        maxIdleBytes: conf.getBytes('strata.fuse.open.cache.max.idle.bytes'),
        maxFileBytes: conf.getBytes('strata.fuse.open.cache.max.file.size'),
        // Reused only well inside the worker's lease timeout.
        maxAgeMs: conf.getMs('strata.worker.shortcircuit.lease.timeout') / 2,
      },
      folderPrefetch: { trigger: conf.getInt('strata.fuse.prefetch.folder.trigger'), maxFileBytes: conf.getBytes('strata.fuse.prefetch.folder.max.file.size') },
    });
    const ops = new FuseOps(
      vfs,
      {
        timeouts: { entryMs: conf.getMs('strata.fuse.entry.timeout'), attrMs: conf.getMs('strata.fuse.attr.timeout') },
        maxRead,
        passthrough: conf.getBool('strata.fuse.passthrough.enabled'),
        kernelCache: conf.getBool('strata.fuse.kernel.cache'),
      },
      o.logger,
    );
    const options = [
      `rootmode=40000`,
      `user_id=${process.getuid?.() ?? 0}`,
      `group_id=${process.getgid?.() ?? 0}`,
      `max_read=${maxRead}`,
      'default_permissions',
      ...(conf.getBool('strata.fuse.allow.other') ? ['allow_other'] : []),
    ];
    let fd: number;
    if (isRoot()) {
      fd = native().fuseOpenDevice();
      native().fuseMount(fd, mountPoint, `strata:${root.path}`, [`fd=${fd}`, ...options].join(','));
    } else {
      fd = native().fuseMountWithFusermount(mountPoint, [`fsname=strata:${root.path}`, 'subtype=strata', ...options.slice(3)].join(','));
    }
    ops.sessionFd = fd;
    const session = new FuseSession(fd, ops.handlers(), o.logger);
    ops.handled = () => session.handled;
    session.start(maxRead + 64 * 1024, XATTR_PREFIX, Math.max(1, conf.getInt('strata.fuse.reader.threads')));
    const mount = new FuseMount(mountPoint, root.path, session, ops, fs);
    await mount.raiseReadAhead(conf.getBytes('strata.fuse.read.ahead'), o.logger);
    o.logger.info({ mountPoint, strataPath: root.path, reads: ops.readMode }, 'mounted');
    return mount;
  }

  private async raiseReadAhead(bytes: number, logger: Logger): Promise<void> {
    try {
      const { major, minor } = devNumbers((await stat(this.mountPoint)).dev);
      writeFileSync(`/sys/class/bdi/${major}:${minor}/read_ahead_kb`, String(Math.floor(bytes / 1024)));
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'could not raise the kernel read-ahead of the mount');
    }
  }

  /** Unmounts: waits up to waitMs for open files to close unless forced (lazy detach). */
  async unmount(opts: { force?: boolean; waitMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (opts.waitMs ?? 0);
    for (;;) {
      try {
        unmountPoint(this.mountPoint, !!opts.force);
        break;
      } catch (err) {
        const busy = /EBUSY|busy/i.test(String((err as Error).message) + String((err as NodeJS.ErrnoException).code));
        if (!busy || Date.now() >= deadline) throw new StrataError(busy ? 'FAILED_PRECONDITION' : 'INTERNAL', `Cannot unmount ${this.mountPoint}: ${(err as Error).message}${busy ? ' (files are open; use -f to force)' : ''}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    await this.finish();
  }

  private finishing?: Promise<void>;

  /**
   * Once the session has ended (however it was unmounted): lets go of what the mount held
   * between opens — leases on the worker, cache file descriptors, the client's connections.
   */
  finish(): Promise<void> {
    this.finishing ??= (async () => {
      await this.session.ended;
      this.ops.unserveAll();
      await this.ops.vfs.close();
      await this.fs.close();
    })();
    return this.finishing;
  }
}
