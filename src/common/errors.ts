/**
 * One error type for all of Strata. Each code maps to an HTTP status (the RPC edge), a CLI exit
 * code (the shell edge) and a POSIX errno (the FUSE edge), so a failure keeps its meaning as it
 * crosses process boundaries. Tests check codes, never messages.
 */
export const ErrorCodes = {
  INVALID_ARGUMENT: { http: 400, exit: 2, errno: 'EINVAL' },
  NOT_FOUND: { http: 404, exit: 3, errno: 'ENOENT' },
  ALREADY_EXISTS: { http: 409, exit: 4, errno: 'EEXIST' },
  DIRECTORY_NOT_EMPTY: { http: 409, exit: 5, errno: 'ENOTEMPTY' },
  NOT_A_DIRECTORY: { http: 400, exit: 2, errno: 'ENOTDIR' },
  IS_A_DIRECTORY: { http: 400, exit: 2, errno: 'EISDIR' },
  PERMISSION_DENIED: { http: 403, exit: 6, errno: 'EACCES' },
  UNAUTHENTICATED: { http: 401, exit: 6, errno: 'EACCES' },
  READ_ONLY: { http: 403, exit: 6, errno: 'EROFS' },
  RESOURCE_EXHAUSTED: { http: 507, exit: 7, errno: 'ENOSPC' },
  FAILED_PRECONDITION: { http: 412, exit: 8, errno: 'EPERM' },
  UNAVAILABLE: { http: 503, exit: 9, errno: 'EIO' },
  DATA_LOSS: { http: 500, exit: 10, errno: 'EIO' },
  CANCELLED: { http: 499, exit: 11, errno: 'EINTR' },
  INTERNAL: { http: 500, exit: 1, errno: 'EIO' },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class StrataError extends Error {
  override readonly name = 'StrataError';
  /** Sent by the server that was called (it is up), rather than met on the way to it. */
  readonly remote: boolean;
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; remote?: boolean },
  ) {
    super(message, options);
    this.remote = options?.remote ?? false;
  }

  get httpStatus(): number {
    return ErrorCodes[this.code].http;
  }

  get exitCode(): number {
    return ErrorCodes[this.code].exit;
  }

  get errno(): string {
    return ErrorCodes[this.code].errno;
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }

  static isCode(err: unknown, code: ErrorCode): boolean {
    return err instanceof StrataError && err.code === code;
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ErrorCodes, value);
}

const errnoToCode: Record<string, ErrorCode> = {
  ENOENT: 'NOT_FOUND',
  EEXIST: 'ALREADY_EXISTS',
  ENOTEMPTY: 'DIRECTORY_NOT_EMPTY',
  ENOTDIR: 'NOT_A_DIRECTORY',
  EISDIR: 'IS_A_DIRECTORY',
  EACCES: 'PERMISSION_DENIED',
  EPERM: 'PERMISSION_DENIED',
  EROFS: 'READ_ONLY',
  ENOSPC: 'RESOURCE_EXHAUSTED',
  EDQUOT: 'RESOURCE_EXHAUSTED',
  ECONNREFUSED: 'UNAVAILABLE',
  ECONNRESET: 'UNAVAILABLE',
  ETIMEDOUT: 'UNAVAILABLE',
  EHOSTUNREACH: 'UNAVAILABLE',
  UND_ERR_CONNECT_TIMEOUT: 'UNAVAILABLE',
  UND_ERR_SOCKET: 'UNAVAILABLE',
  UND_ERR_HEADERS_TIMEOUT: 'UNAVAILABLE',
  UND_ERR_BODY_TIMEOUT: 'UNAVAILABLE',
};

/** Turns any thrown value into a StrataError, keeping a Node system error's meaning. */
export function toStrataError(err: unknown, context?: string): StrataError {
  if (err instanceof StrataError) return err;
  const sys = err as { code?: string; message?: string } | undefined;
  const code = (sys?.code && errnoToCode[sys.code]) || 'INTERNAL';
  const message = sys?.message ?? String(err);
  return new StrataError(code, context ? `${context}: ${message}` : message, { cause: err });
}
