/**
 * One FUSE session: requests come off /dev/fuse on a native thread and are handled here
 * concurrently (a slow UFS read never holds up a lookup); each gets exactly one reply, unless
 * the kernel interrupted it first, in which case it was answered EINTR and the late reply is
 * dropped. FORGET and BATCH_FORGET take no reply.
 */
import { writeSync, writevSync } from 'node:fs';
import { constants } from 'node:os';
import { native } from '../common/native.js';
import type { Logger } from '../common/logging.js';
import { StrataError } from '../common/errors.js';
import { Op, OP_NAMES, OUT_HEADER_SIZE } from './protocol/constants.js';
import { Body, outHeader, readInHeader, type InHeader } from './protocol/codec.js';

export type Reply = Buffer | Buffer[] | null | typeof REPLIED;
/** Returned by a handler that already replied (native READ replies). */
export const REPLIED = Symbol('replied');

export type Handler = (h: InHeader, body: Body, unique: bigint) => Promise<Reply> | Reply;

const errnoOf = (name: string): number => (constants.errno as Record<string, number>)[name] ?? constants.errno.EIO;

/** The errno for any failure: StrataError's mapping, a Node system error's code, else EIO. */
export function toErrno(err: unknown): number {
  if (err instanceof StrataError) return errnoOf(err.errno);
  const code = (err as { code?: string }).code;
  if (code && code in constants.errno) return errnoOf(code);
  return constants.errno.EIO;
}

export class FuseSession {
  private readonly pending = new Set<bigint>();
  private readonly interrupted = new Set<bigint>();
  private endResolve!: () => void;
  readonly ended = new Promise<void>((r) => (this.endResolve = r));
  inFlight = 0;
  /** Requests handled here (not by the reader threads), indexed by opcode. */
  readonly handled: number[] = [];

  constructor(
    readonly fd: number,
    private readonly handlers: Partial<Record<number, Handler>>,
    private readonly logger: Logger,
    private readonly noReply: Set<number> = new Set([Op.FORGET, Op.BATCH_FORGET]),
  ) {}

  /** Starts `threads` readers of the device; the session ends once all have seen it close. */
  start(bufferSize: number, xattrPrefix: string, threads: number): void {
    let running = threads;
    native().fuseStartReader(this.fd, bufferSize, (req, errno) => {
      if (req) this.dispatch(req);
      else {
        if (errno && errno !== constants.errno.ENODEV) this.logger.warn({ errno }, 'FUSE device read failed');
        if (--running === 0) this.endResolve();
      }
    }, xattrPrefix, threads);
  }

  private dispatch(buf: Buffer): void {
    const h = readInHeader(buf);
    this.handled[h.opcode] = (this.handled[h.opcode] ?? 0) + 1;
    if (h.opcode === Op.INTERRUPT) {
      const target = new Body(buf).big();
      if (this.pending.has(target)) {
        this.interrupted.add(target);
        this.send(target, -constants.errno.EINTR);
      }
      return;
    }
    const handler = this.handlers[h.opcode];
    if (!handler) {
      if (!this.noReply.has(h.opcode)) this.send(h.unique, -constants.errno.ENOSYS);
      return;
    }
    this.pending.add(h.unique);
    this.inFlight++;
    let result: Promise<Reply>;
    try {
      result = Promise.resolve(handler(h, new Body(buf), h.unique));
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (reply) => {
        if (reply !== REPLIED && !this.noReply.has(h.opcode)) this.send(h.unique, 0, reply);
      },
      (err: unknown) => {
        const errno = toErrno(err);
        if (errno === constants.errno.EIO) this.logger.error({ err, op: OP_NAMES[h.opcode] }, 'FUSE operation failed');
        if (!this.noReply.has(h.opcode)) this.send(h.unique, -errno);
      },
    ).finally(() => {
      this.pending.delete(h.unique);
      this.interrupted.delete(h.unique);
      this.inFlight--;
    });
  }

  /** Sends one reply; ENOENT from the device means the request was interrupted or aborted. */
  send(unique: bigint, error: number, payload: Buffer | Buffer[] | null = null): void {
    if (error === 0 && this.interrupted.has(unique)) return;
    const parts = payload === null ? [] : Array.isArray(payload) ? payload : [payload];
    const len = OUT_HEADER_SIZE + parts.reduce((s, p) => s + p.length, 0);
    try {
      if (parts.length === 0) writeSync(this.fd, outHeader(len, error, unique));
      else writevSync(this.fd, [outHeader(len, error, unique), ...parts]);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENODEV' && code !== 'EBADF') this.logger.warn({ err }, 'FUSE reply failed');
    }
  }

  /** Marks a request answered by native code (READ from a file descriptor). */
  isInterrupted(unique: bigint): boolean {
    return this.interrupted.has(unique);
  }
}
