/**
 * The FUSE operations: decode a request, call the VFS, encode the reply. This is the only place
 * that knows both FUSE and Strata: node ids and file handles, attributes, INIT negotiation, and
 * how each READ is served (passthrough, a native reply from a cache file, or the client).
 */
import { constants } from 'node:os';
import { constants as fsConstants } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { StrataError } from '../common/errors.js';
import type { Logger } from '../common/logging.js';
import { native } from '../common/native.js';
import { joinPath } from '../common/paths.js';
import type { FileInfo } from '../common/types.js';
import { groupIdOf, groupName, userIdOf, userName } from '../common/users.js';
import { InodeTable, ROOT_NODE, type InodeNode } from './inode-table.js';
import { NativeEntries } from './native-entries.js';
import {
  FUSE_KERNEL_MINOR_VERSION,
  FUSE_KERNEL_VERSION,
  InitFlag,
  Op,
  OP_NAMES,
  OpenFlag,
  RENAME_EXCHANGE,
  RENAME_NOREPLACE,
  S_IFDIR,
  S_IFREG,
  SetattrValid,
} from './protocol/constants.js';
import { attrOut, entryOut, openOut, packDirents, statfsOut, writeOut, xattrSizeOut, type Attr, type Body, type Timeouts } from './protocol/codec.js';
import { REPLIED, type Handler } from './session.js';
import type { Vfs, VfsHandle } from './vfs/vfs.js';
import type { ReadHandle } from './vfs/read-handle.js';

export interface FuseOptions {
  timeouts: Timeouts;
  maxRead: number;
  passthrough: boolean;
  kernelCache: boolean;
}

interface OpenFile {
  nodeid: bigint;
  handle: VfsHandle;
  mode: 'passthrough' | 'cached' | 'direct';
  /** READs answered by the native reader threads from the handle's cache file. */
  servedNatively: boolean;
  /** Where those READs may fall, last told to the reader threads. */
  served?: { fd: number; start: number; end: number };
  /** Opened for writing: counted in the inode's writers until released. */
  writer: boolean;
}

export const XATTR_PREFIX = 'user.strata.';
/** On the mount's root: requests by kind, and who answered them (JSON), as JuiceFS's .stats tells. */
export const REQUESTS_XATTR = `${XATTR_PREFIX}requests`;
const XATTRS = ['persistence_state', 'cached_percent', 'ufs_path'].map((n) => XATTR_PREFIX + n);
const NOBODY = 65534;

/** What identifies one version of a file's content. */
/**
 * How long an open that passthrough readers block waits for them to close. A program's close
 * returns before the kernel sends its RELEASE, which can reach us after the program's next
 * open: a write right after a read of the same file was refused as busy.
 */
const RELEASE_WAIT_MS = 1000;
const versionOf = (info: FileInfo): string => `${info.length}:${info.lastModificationTimeMs}:${info.fileId}`;

/** A plain POSIX failure, for cases with no Strata meaning (EBADF, ENODATA, ERANGE...). */
function errno(name: keyof typeof constants.errno): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(name);
  e.code = name;
  return e;
}

/** Requests that change names or attributes: native LOOKUP answers are withdrawn around them. */
const CHANGES = [Op.SETATTR, Op.MKDIR, Op.UNLINK, Op.RMDIR, Op.RENAME, Op.RENAME2, Op.CREATE];

export class FuseOps {
  private readonly entries = new NativeEntries(() => this.sessionFd);
  readonly inodes = new InodeTable((nodeid, drop) => this.entries.take(nodeid, drop));
  private readonly files = new Map<bigint, OpenFile>();
  private readonly dirs = new Map<bigint, FileInfo[]>();
  private nextFh = 1n;
  /** What INIT agreed to. */
  passthroughActive = false;
  private directMmap = false;
  readMode = 'unknown';
  /** The /dev/fuse descriptor, set by the mount once the device is open. */
  sessionFd = -1;
  /** Requests the session handed to these operations, by opcode; set by the mount. */
  handled: () => number[] = () => [];

  constructor(
    readonly vfs: Vfs,
    private readonly opts: FuseOptions,
    private readonly logger: Logger,
  ) {
    vfs.observer = {
      invalidated: () => this.entries.invalidate(),
      listing: () => {
        const since = this.entries.current;
        return (folder, infos, freshForMs) => this.offerListed(since, folder, infos, freshForMs);
      },
    };
    // Known to the kernel already (its lookups may never reach here again): opened natively now.
    vfs.onWarm = (path, info) => {
      const nodeid = this.inodes.idOf(path);
      if (nodeid !== undefined) this.openWarmNatively(nodeid, path, info);
    };
  }

  /** A folder's fresh listing: the names the kernel holds ids for get native LOOKUP answers. */
  private offerListed(since: number, folder: string, infos: FileInfo[], freshForMs: number): void {
    const parent = this.inodes.idOf(folder);
    if (parent === undefined || since !== this.entries.current) return;
    for (const info of infos) {
      const path = joinPath(folder, info.name);
      const nodeid = this.inodes.idOf(path);
      if (nodeid === undefined) continue;
      const known = this.inodes.node(nodeid)?.fileId;
      // Another file under the name now: the kernel's id for the old one must not be answered.
      if (known !== undefined && known !== info.fileId) return this.entries.invalidate();
      this.checkNativeOpens(nodeid, info);
      this.entries.offer(since, parent, info.name, nodeid, entryOut(nodeid, this.attr(info), this.opts.timeouts), freshForMs);
    }
  }

  attr(info: FileInfo): Attr {
    return {
      ino: info.fileId,
      size: info.folder ? 4096 : info.length,
      blocks: Math.ceil(info.length / 512),
      atimeMs: info.lastModificationTimeMs,
      mtimeMs: info.lastModificationTimeMs,
      ctimeMs: info.lastModificationTimeMs,
      mode: (info.folder ? S_IFDIR : S_IFREG) | (info.mode & 0o7777),
      nlink: info.folder ? 2 : 1,
      uid: userIdOf(info.owner) ?? NOBODY,
      gid: groupIdOf(info.group) ?? NOBODY,
    };
  }

  private pathOf(nodeid: bigint): string {
    const p = this.inodes.path(nodeid);
    if (p === undefined) throw new StrataError('NOT_FOUND', `stale node id ${nodeid}`);
    return p;
  }

  /**
   * The attributes of a node. One whose path now names another file (replaced under it) is
   * kept by the handles still open on it: they answer, as an unlinked open file would.
   */
  private async statNode(nodeid: bigint): Promise<FileInfo> {
    const info = await this.vfs.stat(this.pathOf(nodeid));
    const was = this.inodes.node(nodeid)?.fileId;
    if (was === undefined || info.fileId === was) return info;
    for (const f of this.files.values()) if (f.nodeid === nodeid && f.handle.kind === 'read') return f.handle.read.info;
    return info;
  }

  private entry(path: string, info: FileInfo): Buffer {
    const nodeid = this.inodes.lookup(path, info.fileId);
    this.checkNativeOpens(nodeid, info);
    return entryOut(nodeid, this.attr(info), this.opts.timeouts);
  }

  handlers(): Partial<Record<number, Handler>> {
    const handlers = this.operations();
    for (const op of CHANGES) {
      const change = handlers[op]!;
      handlers[op] = (h, b, unique) => this.entries.around(() => change(h, b, unique));
    }
    return handlers;
  }

  private operations(): Partial<Record<number, Handler>> {
    const t = this.opts.timeouts;
    return {
      [Op.INIT]: (_h, b) => this.init(b),
      [Op.DESTROY]: () => null,
      [Op.LOOKUP]: async (h, b) => {
        const name = b.name();
        const path = joinPath(this.pathOf(h.nodeid), name);
        const since = this.entries.current;
        const info = await this.vfs.stat(path);
        const out = this.entry(path, info);
        const nodeid = out.readBigUInt64LE(0);
        this.entries.offer(since, h.nodeid, name, nodeid, out, this.vfs.freshForMs(path));
        this.openWarmNatively(nodeid, path, info);
        return out;
      },
      [Op.FORGET]: (h, b) => {
        this.inodes.forget(h.nodeid, b.u64());
        return null;
      },
      [Op.BATCH_FORGET]: (_h, b) => {
        const count = b.u32();
        b.skip(4);
        for (let i = 0; i < count; i++) this.inodes.forget(b.big(), b.u64());
        return null;
      },
      [Op.GETATTR]: async (h) => {
        const info = await this.statNode(h.nodeid);
        this.checkNativeOpens(h.nodeid, info);
        return attrOut(this.attr(info), t);
      },
      [Op.SETATTR]: (h, b) => this.setattr(h.nodeid, b),
      [Op.MKDIR]: async (h, b) => {
        const mode = b.u32();
        b.skip(4);
        const path = joinPath(this.pathOf(h.nodeid), b.name());
        return this.entry(path, await this.vfs.mkdir(path, mode));
      },
      [Op.UNLINK]: async (h, b) => {
        const path = joinPath(this.pathOf(h.nodeid), b.name());
        await this.vfs.unlink(path);
        this.inodes.unlink(path);
        return null;
      },
      [Op.RMDIR]: async (h, b) => {
        const path = joinPath(this.pathOf(h.nodeid), b.name());
        await this.vfs.rmdir(path);
        this.inodes.unlink(path);
        return null;
      },
      [Op.RENAME]: (h, b) => this.rename(h.nodeid, b.big(), 0, b),
      [Op.RENAME2]: (h, b) => {
        const newdir = b.big();
        const flags = b.u32();
        b.skip(4);
        return this.rename(h.nodeid, newdir, flags, b);
      },
      [Op.OPEN]: (h, b) => this.open(h.nodeid, b.u32()),
      [Op.CREATE]: async (h, b) => {
        b.skip(4); // flags: a created file is always opened for writing
        const mode = b.u32();
        b.skip(8);
        const path = joinPath(this.pathOf(h.nodeid), b.name());
        const handle = await this.vfs.create(path, mode);
        const info = await this.vfs.stat(path);
        const entry = this.entry(path, info);
        const nodeid = entry.readBigUInt64LE(0);
        return [entry, this.registerOpen(nodeid, handle, 'direct')];
      },
      [Op.READ]: (_h, b, unique) => this.read(b, unique),
      [Op.WRITE]: async (_h, b) => {
        const fh = b.big();
        const offset = b.u64();
        const size = b.u32();
        b.skip(4 + 8 + 4 + 4);
        const f = this.file(fh);
        if (f.handle.kind !== 'write') throw errno('EBADF');
        await f.handle.staged.write(b.rest().subarray(0, size), offset);
        return writeOut(size);
      },
      [Op.FLUSH]: (_h, b) => this.flush(b.big()),
      [Op.FSYNC]: (_h, b) => this.flush(b.big()),
      [Op.RELEASE]: async (_h, b) => {
        await this.release(b.big());
        return null;
      },
      [Op.OPENDIR]: () => {
        const fh = this.nextFh++;
        this.dirs.set(fh, []);
        return openOut(fh, OpenFlag.CACHE_DIR);
      },
      [Op.READDIR]: (h, b) => this.readdir(h.nodeid, b, false),
      [Op.READDIRPLUS]: (h, b) => this.readdir(h.nodeid, b, true),
      [Op.RELEASEDIR]: (_h, b) => {
        this.dirs.delete(b.big());
        return null;
      },
      [Op.FSYNCDIR]: () => null,
      [Op.STATFS]: async () => {
        const { tiers } = await this.vfs.statfs();
        const bsize = 4096;
        const capacity = tiers.reduce((s, x) => s + x.capacityBytes, 0);
        const used = tiers.reduce((s, x) => s + x.usedBytes, 0);
        const free = Math.max(0, capacity - used);
        return statfsOut({ blocks: Math.floor(capacity / bsize), bfree: Math.floor(free / bsize), bavail: Math.floor(free / bsize), files: 1_000_000, ffree: 1_000_000, bsize });
      },
      [Op.ACCESS]: () => null,
      [Op.GETXATTR]: async (h, b) => {
        const size = b.u32();
        b.skip(4);
        const name = b.name();
        // As the reader threads answer (native/fuse_dev.c) when they are told the prefix.
        if (!name.startsWith(XATTR_PREFIX)) throw errno(/^(security|system)\./.test(name) ? 'EOPNOTSUPP' : 'ENODATA');
        if (name === REQUESTS_XATTR && h.nodeid === ROOT_NODE) return this.sized(Buffer.from(JSON.stringify(this.requestCounts())), size);
        const info = await this.vfs.stat(this.pathOf(h.nodeid));
        const value = this.xattr(info, name);
        if (value === undefined) throw errno('ENODATA');
        return this.sized(Buffer.from(value), size);
      },
      [Op.LISTXATTR]: (_h, b) => this.sized(Buffer.from(XATTRS.map((x) => `${x}\0`).join('')), b.u32()),
      [Op.SETXATTR]: () => {
        throw errno('EOPNOTSUPP');
      },
      [Op.REMOVEXATTR]: () => {
        throw errno('EOPNOTSUPP');
      },
      [Op.SYMLINK]: () => {
        throw errno('EPERM');
      },
      [Op.LINK]: () => {
        throw errno('EPERM');
      },
    };
  }

  private init(b: Body): Buffer {
    const major = b.u32();
    const minor = b.u32();
    const maxReadahead = b.u32();
    const flags = BigInt(b.u32());
    const flags2 = minor >= 36 ? BigInt(b.u32()) : 0n;
    const offered = flags | (flags2 << 32n);
    if (major !== FUSE_KERNEL_VERSION) throw new StrataError('FAILED_PRECONDITION', `FUSE protocol ${major}.${minor} is not supported`);
    let want =
      InitFlag.ASYNC_READ | InitFlag.BIG_WRITES | InitFlag.MAX_PAGES | InitFlag.DO_READDIRPLUS | InitFlag.PARALLEL_DIROPS | InitFlag.ATOMIC_O_TRUNC | InitFlag.DIRECT_IO_ALLOW_MMAP;
    if (this.opts.kernelCache) want |= InitFlag.AUTO_INVAL_DATA;
    const canPassthrough = this.opts.passthrough && (offered & InitFlag.PASSTHROUGH) !== 0n && process.getuid?.() === 0;
    if (canPassthrough) want |= InitFlag.PASSTHROUGH;
    const agreed = (want & offered) | InitFlag.INIT_EXT;
    this.passthroughActive = (agreed & InitFlag.PASSTHROUGH) !== 0n;
    // Older kernels refuse a shared mmap of a direct open: there, cold files go through the page cache.
    this.directMmap = (agreed & InitFlag.DIRECT_IO_ALLOW_MMAP) !== 0n;
    this.readMode = this.passthroughActive ? 'passthrough, native replies for partly cached files' : 'native replies from cache files (no passthrough)';
    this.logger.info({ kernel: `${major}.${minor}`, passthrough: this.passthroughActive }, `FUSE session: reads by ${this.readMode}`);
    const out = Buffer.alloc(64);
    out.writeUInt32LE(FUSE_KERNEL_VERSION, 0);
    out.writeUInt32LE(Math.min(minor, FUSE_KERNEL_MINOR_VERSION), 4);
    out.writeUInt32LE(maxReadahead, 8);
    out.writeUInt32LE(Number(agreed & 0xffffffffn), 12);
    out.writeUInt16LE(64, 16); // max_background
    out.writeUInt16LE(48, 18); // congestion_threshold
    out.writeUInt32LE(this.opts.maxRead, 20); // max_write
    out.writeUInt32LE(1, 24); // time_gran
    out.writeUInt16LE(Math.ceil(this.opts.maxRead / 4096), 28); // max_pages
    out.writeUInt32LE(Number(agreed >> 32n), 32);
    out.writeUInt32LE(this.passthroughActive ? 1 : 0, 36); // max_stack_depth
    return out;
  }

  private file(fh: bigint): OpenFile {
    const f = this.files.get(fh);
    if (!f) throw errno('EBADF');
    return f;
  }

  private registerOpen(nodeid: bigint, handle: VfsHandle, mode: OpenFile['mode'], extraFlags = 0, backingId = 0, writer = false): Buffer {
    const fh = this.nextFh++;
    // A wholly cached file not handed to the kernel: the reader threads answer its READs.
    const read = handle.kind === 'read' && mode !== 'passthrough' ? handle.read : undefined;
    const whole = read?.wholeFile;
    if (whole) native().fuseServeFromFd(this.sessionFd, fh, whole.fd, read.info.length);
    this.files.set(fh, { nodeid, handle, mode, servedNatively: !!whole, served: whole && { fd: whole.fd, start: 0, end: read.info.length }, writer });
    const node = this.inodes.node(nodeid);
    const cachedIo = handle.kind === 'read' && mode !== 'passthrough';
    if (node && cachedIo) node.openCached++;
    if (node && mode === 'passthrough') node.openPassthrough++;
    const flags =
      (mode === 'direct' ? OpenFlag.DIRECT_IO : 0) |
      (mode === 'passthrough' ? OpenFlag.PASSTHROUGH : 0) |
      (handle.kind === 'read' ? OpenFlag.NOFLUSH : 0) |
      extraFlags;
    return openOut(fh, flags, backingId);
  }

  private async open(nodeid: bigint, flags: number): Promise<Buffer> {
    const path = this.pathOf(nodeid);
    const node = this.inodes.node(nodeid)!;
    const writer = (flags & 3) !== fsConstants.O_RDONLY;
    if ((flags & (3 | fsConstants.O_TRUNC)) !== fsConstants.O_RDONLY) this.entries.invalidate();
    if (writer) await this.startWriting(nodeid, node, path);
    let handle: VfsHandle;
    try {
      handle = await this.vfs.open(path, flags);
    } catch (err) {
      if (writer) node.writers--;
      throw err;
    }
    if (handle.kind === 'write') return this.registerOpen(nodeid, handle, 'direct', 0, 0, writer);
    const r = handle.read;
    const version = versionOf(r.info);
    // A writer waits for this file's passthrough readers to close: this open does not join them
    // (the writer would wait for ever under a steady stream of readers); it waits with the writer
    // and then reads around passthrough, or joins them if the writer gave up.
    if (node.writers > 0 && this.passthroughOpens(nodeid, node) > 0) await this.released(() => node.writers === 0 || this.passthroughOpens(nodeid, node) === 0);
    // Asked before the checks below, which must run with no wait between them and the count
    // registerOpen makes (another open could go passthrough meanwhile).
    const fillsLocally = this.directMmap && !r.wholeFile && (await r.fillsLocally());
    // Another version's readers may be closing: this open waits for them to go, or for an open
    // of its own version to take their place (which it then joins).
    if (node.backing && node.backing.version !== version) {
      this.checkNativeOpens(nodeid, r.info); // the reader threads stop opening the old version
      await this.released(() => this.passthroughOpens(nodeid, node) === 0 || node.backing?.version === version);
    }
    // Another open reads this version in passthrough: this one joins it, with its own leases.
    if (node.backing?.version === version && !r.wholeFile && this.passthroughOpens(nodeid, node) > 0) await r.leaseWhole();
    const pt = this.passthroughOpen(nodeid, node, r, version);
    if (pt !== undefined) {
      if ((flags & (3 | fsConstants.O_TRUNC)) === fsConstants.O_RDONLY) this.openNatively(nodeid, r, pt);
      return this.registerOpen(nodeid, handle, 'passthrough', 0, pt);
    }
    if (this.passthroughOpens(nodeid, node) > 0) {
      await this.vfs.releaseRead(r);
      throw this.busy(path);
    }
    // A file that reading brings into the local cache goes around the page cache: its bytes
    // would be held twice in memory (and copied twice), and its next open will be passthrough.
    if (node.backing || (fillsLocally && !r.wholeFile)) return this.registerOpen(nodeid, handle, 'direct');
    const keep = this.opts.kernelCache && node.version === version ? OpenFlag.KEEP_CACHE : 0;
    node.version = version;
    return this.registerOpen(nodeid, handle, 'cached', keep);
  }


  private async read(b: Body, unique: bigint): Promise<Buffer | typeof REPLIED> {
    const fh = b.big();
    const offset = b.u64();
    const size = b.u32();
    const f = this.file(fh);
    if (f.handle.kind === 'write') return f.handle.staged.read(offset, size);
    const r = f.handle.read;
    const want = Math.max(0, Math.min(size, r.info.length - offset));
    if (want === 0) return Buffer.alloc(0);
    const local = r.localRange(offset, want) ?? (await r.fillingRange(offset, want).catch(() => undefined));
    if (local) {
      const sent = await native().fuseReplyFromFd(this.sessionFd, unique, local.fd, local.offset, want);
      if (sent < 0) throw errno('EIO');
      this.serveAhead(fh, f, r, offset);
      return REPLIED;
    }
    return r.read(offset, want);
  }

  /**
   * Hands the reader threads the range around `offset` that the handle holds in one cache file,
   * so that the READs after this one (small reads of a direct open above all) never reach
   * JavaScript until they pass what is known to be in.
   */
  private serveAhead(fh: bigint, f: OpenFile, r: ReadHandle, offset: number): void {
    const ready = r.readyRange(offset);
    const s = f.served;
    if (!ready || !this.files.has(fh) || (s?.fd === ready.fd && s.start <= ready.start && s.end >= ready.end)) return;
    native().fuseServeFromFd(this.sessionFd, fh, ready.fd, r.info.length, ready.start, ready.end);
    f.servedNatively = true;
    f.served = ready;
  }

  /** Commits what a write handle wrote (a read handle has nothing to flush). */
  private async flush(fh: bigint): Promise<null> {
    const f = this.files.get(fh);
    if (f?.handle.kind === 'write') {
      const staged = f.handle.staged;
      await this.entries.around(() => this.vfs.flush(staged));
    }
    return null;
  }

  private async release(fh: bigint): Promise<void> {
    const f = this.files.get(fh);
    if (!f) return;
    this.files.delete(fh);
    if (f.servedNatively) native().fuseUnserve(this.sessionFd, fh);
    const node = this.inodes.node(f.nodeid);
    if (node && f.handle.kind === 'read' && f.mode !== 'passthrough') node.openCached--;
    if (node && f.mode === 'passthrough') node.openPassthrough--;
    if (node && f.writer) node.writers--;
    if (f.handle.kind === 'write') {
      const staged = f.handle.staged;
      await this.entries.around(() => this.vfs.release(staged));
      return;
    }
    const r = f.handle.read;
    await this.vfs.releaseRead(r);
    // Read cold and kept open now: its next opens can go passthrough, answered natively, from the
    // start (the next epoch's first open costs no trip to JavaScript either).
    if (node && r.wholeFile && !r.inUseElsewhere && this.vfs.keeps(r)) {
      const backingId = this.passthroughOpen(f.nodeid, node, r, versionOf(r.info));
      if (backingId !== undefined) this.openNatively(f.nodeid, r, backingId);
    }
  }

  /** The session ended: handles the kernel never released stop being served natively. */
  unserveAll(): void {
    native().fuseForgetSession(this.sessionFd);
  }

  /**
   * The backing id to open `r` in passthrough with, if it can be: the whole file in one local
   * cache file and no cached-io open on the inode. The kernel allows one backing file per inode
   * while any passthrough open lasts, so every open of that file version shares one id, held
   * by the whole-file handles of that version (which hold the worker's leases) until the last
   * of them closes (warm handles outlive their opens).
   */
  private passthroughOpen(nodeid: bigint, node: InodeNode, r: ReadHandle, version: string): number | undefined {
    if (!this.passthroughActive || !r.wholeFile || node.openCached > 0 || node.writers > 0) return undefined;
    let b = node.backing;
    if (b && b.version !== version) {
      // The kernel (or a native open) still reads the older version.
      if (this.passthroughOpens(nodeid, node) > 0 || !native().fuseOpenerRemove(this.sessionFd, nodeid, 0)) return undefined;
      this.closeBacking(nodeid, b);
      b = undefined;
    }
    if (!b) {
      try {
        b = node.backing = { id: native().fuseBackingOpen(this.sessionFd, r.wholeFile.fd), version, holders: new Set() };
      } catch (err) {
        this.logger.warn({ err: (err as Error).message, path: node.path }, 'passthrough refused; serving reads from the cache file');
        return undefined;
      }
    }
    if (!b.holders.has(r)) {
      b.holders.add(r);
      const held = b;
      r.onClose(() => {
        held.holders.delete(r);
        if (held.holders.size === 0) this.closeBacking(nodeid, held);
      });
    }
    return b.id;
  }

  /**
   * A kept (warm) handle in passthrough: the next read-only opens of its inode are answered by
   * the native reader threads, on the same backing id, until the handle is to be closed. The
   * handle stays open while the kernel holds such opens, or within the idle time of the last.
   */
  private openNatively(nodeid: bigint, r: ReadHandle, backingId: number): void {
    if (r.inUseElsewhere || !r.wholeFile || !this.vfs.keeps(r)) return;
    native().fuseOpenerAdd(this.sessionFd, nodeid, OpenFlag.PASSTHROUGH | OpenFlag.NOFLUSH, backingId, r.wholeFile.fd, r.info.length);
    r.inUseElsewhere = (recentMs) => !native().fuseOpenerRemove(this.sessionFd, nodeid, recentMs);
  }

  /**
   * A file held warm (a prefetch loaded it and the mount leased it ahead of its readers, or an
   * earlier open kept it): looked up, it is about to be opened, and its opens go to the reader
   * threads from the first one, as a kept handle's do after its first close.
   */
  private openWarmNatively(nodeid: bigint, path: string, info: FileInfo): void {
    const node = this.inodes.node(nodeid);
    const r = this.passthroughActive && node && node.writers === 0 ? this.vfs.warmHandle(path, info) : undefined;
    if (!node || !r || r.inUseElsewhere || versionOf(r.info) !== versionOf(info)) return;
    const backingId = this.passthroughOpen(nodeid, node, r, versionOf(info));
    if (backingId !== undefined) this.openNatively(nodeid, r, backingId);
  }

  /**
   * Before the file changes through this inode: its opens go through JavaScript again. False
   * when it is open in passthrough (here or natively), and must not change under those readers.
   */
  private stopNativeOpens(nodeid: bigint, node: InodeNode): boolean {
    // Asked first, always: the reader threads stop taking new opens while this waits.
    const nativeClosed = native().fuseOpenerRemove(this.sessionFd, nodeid, 0);
    return nativeClosed && node.openPassthrough === 0;
  }

  /**
   * Counts a writer in the inode once its passthrough readers are gone (the caller counts it out
   * when done); ETXTBSY if they stay. While the inode is open in passthrough the kernel takes no
   * other kind of open (EIO), and a write must never reach the shared cache file. Counted from
   * before the wait, so that no read open goes passthrough meanwhile: new readers would keep
   * the count from ever reaching zero, and one that went passthrough after the wait would make
   * the writer's open EIO.
   */
  private async startWriting(nodeid: bigint, node: InodeNode, path: string): Promise<void> {
    node.writers++;
    if (await this.released(() => this.stopNativeOpens(nodeid, node))) return;
    node.writers--;
    throw this.busy(path);
  }

  /** Metadata that shows another version than the native opens hand out ends them. */
  private checkNativeOpens(nodeid: bigint, info: FileInfo): void {
    const b = this.inodes.node(nodeid)?.backing;
    if (b && b.version !== versionOf(info)) native().fuseOpenerRemove(this.sessionFd, nodeid, 0);
  }

  /** Opens of the inode in passthrough: those made here and those the reader threads made. */
  private passthroughOpens(nodeid: bigint, node: InodeNode): number {
    return node.openPassthrough + native().fuseOpenerRefs(this.sessionFd, nodeid);
  }

  /** Whether `done` holds now or within RELEASE_WAIT_MS, while the kernel's releases come in. */
  private async released(done: () => boolean): Promise<boolean> {
    const deadline = Date.now() + RELEASE_WAIT_MS;
    while (!done()) {
      if (Date.now() >= deadline) return false;
      await sleep(2);
    }
    return true;
  }

  private busy(path: string): NodeJS.ErrnoException {
    this.logger.warn({ path }, 'open refused (ETXTBSY): the file is open for reading in passthrough, and the kernel takes no write or other-version open beside it until those readers close');
    return errno('ETXTBSY');
  }

  /** Drops a backing id, and the node if the kernel forgot it. */
  private closeBacking(nodeid: bigint, b: NonNullable<InodeNode['backing']>): void {
    if (b.closed) return; // replaced by a newer version's, and its last holder closed since
    b.closed = true;
    const node = this.inodes.node(nodeid);
    try {
      native().fuseBackingClose(this.sessionFd, b.id);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'backing close failed');
    }
    if (node?.backing !== b) return;
    node.backing = undefined;
    this.inodes.forget(nodeid, 0);
  }

  private async setattr(nodeid: bigint, b: Body): Promise<Buffer> {
    const valid = b.u32();
    b.skip(4);
    const fh = b.big();
    const size = b.u64();
    b.skip(8 + 8 + 8 + 8 + 4 + 4 + 4);
    const mode = b.u32();
    b.skip(4);
    const uid = b.u32();
    const gid = b.u32();
    const path = this.pathOf(nodeid);
    const change: { mode?: number; owner?: string; group?: string; size?: number } = {};
    if (valid & SetattrValid.MODE) change.mode = mode & 0o7777;
    if (valid & SetattrValid.UID) change.owner = userName(uid);
    if (valid & SetattrValid.GID) change.group = groupName(gid);
    // A truncate changes the bytes as a write open does, and is a writer until it is done.
    let truncating: InodeNode | undefined;
    if (valid & SetattrValid.SIZE) {
      const f = valid & SetattrValid.FH ? this.files.get(fh) : undefined;
      if (f?.handle.kind === 'write') await f.handle.staged.truncate(size);
      else {
        truncating = this.inodes.node(nodeid)!;
        await this.startWriting(nodeid, truncating, path);
        change.size = size;
      }
    }
    try {
      // Times: Strata keeps its own modification times; utimens succeeds without changing them.
      const info = Object.keys(change).length > 0 ? await this.vfs.setattr(path, change) : await this.vfs.stat(path);
      return attrOut(this.attr(info), this.opts.timeouts);
    } finally {
      if (truncating) truncating.writers--;
    }
  }

  private async rename(nodeid: bigint, newdir: bigint, flags: number, b: Body): Promise<null> {
    const from = joinPath(this.pathOf(nodeid), b.name());
    const to = joinPath(this.pathOf(newdir), b.name());
    if (flags & RENAME_EXCHANGE) throw errno('EINVAL');
    await this.vfs.rename(from, to, (flags & RENAME_NOREPLACE) !== 0);
    this.inodes.unlink(to);
    this.inodes.rename(from, to);
    return null;
  }

  private async readdir(nodeid: bigint, b: Body, plus: boolean): Promise<Buffer> {
    const fh = b.big();
    const offset = b.u64();
    const size = b.u32();
    const path = this.pathOf(nodeid);
    const since = this.entries.current;
    let listing = this.dirs.get(fh);
    if (!listing || offset === 0) {
      listing = await this.vfs.list(path);
      this.dirs.set(fh, listing);
    }
    const entries: Array<{ name: string; ino: number; folder: boolean; nodeid?: bigint; attr?: Attr; info?: FileInfo }> = [
      { name: '.', ino: 1, folder: true },
      { name: '..', ino: 1, folder: true },
      ...listing.map((info) => ({ name: info.name, ino: info.fileId, folder: info.folder, info })),
    ];
    // With READDIRPLUS each entry sent counts as a lookup: ids are given only to those that fit.
    return packDirents(entries, offset, size, plus, this.opts.timeouts, (e) => {
      if (plus && e.info) {
        const child = joinPath(path, e.name);
        e.nodeid = this.inodes.lookup(child, e.info.fileId);
        e.attr = this.attr(e.info);
        // Its next lookups and attribute checks, past the kernel's timeouts, need no JavaScript.
        this.entries.offer(since, nodeid, e.name, e.nodeid, entryOut(e.nodeid, e.attr, this.opts.timeouts), this.vfs.freshForMs(child));
      }
    });
  }

  /** By request kind: how many the main thread handled, and how many the reader threads answered. */
  private requestCounts(): Record<string, { main: number; readers: number }> {
    const main = this.handled();
    const readers = native().fuseNativeAnswers();
    const out: Record<string, { main: number; readers: number }> = {};
    for (let op = 0; op < Math.max(main.length, readers.length); op++) {
      if ((main[op] ?? 0) + (readers[op] ?? 0) > 0) out[OP_NAMES[op] ?? String(op)] = { main: main[op] ?? 0, readers: readers[op] ?? 0 };
    }
    return out;
  }

  private xattr(info: FileInfo, name: string): string | undefined {
    switch (name) {
      case 'user.strata.persistence_state':
        return info.persistenceState;
      case 'user.strata.cached_percent':
        return String(info.folder ? 0 : info.inAlluxioPercentage);
      case 'user.strata.ufs_path':
        return info.ufsPath;
      default:
        return undefined;
    }
  }

  private sized(value: Buffer, size: number): Buffer {
    if (size === 0) return xattrSizeOut(value.length);
    if (value.length > size) throw errno('ERANGE');
    return value;
  }

  /** For unmount: files still open for writing. */
  get openWrites(): number {
    return this.vfs.openWrites;
  }
}
