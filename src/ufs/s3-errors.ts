/**
 * Turns what the AWS SDK throws into StrataErrors with codes a user can act on: refused
 * credentials are PERMISSION_DENIED, a missing bucket or key NOT_FOUND, and a server that cannot
 * be reached or keeps failing (after the SDK's retries) UNAVAILABLE. Messages name the operation
 * and the s3:// address, never the credentials.
 */
import { StrataError, type ErrorCode } from '../common/errors.js';

interface SdkErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
  cause?: unknown;
}

const DENIED = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'Forbidden', 'ExpiredToken', 'InvalidToken', 'AllAccessDisabled', 'CredentialsProviderError']);
const MISSING = new Set(['NoSuchBucket', 'NoSuchKey', 'NotFound', 'NoSuchUpload']);
/** Failures before any answer, that a new connection may not have (retried). */
export const S3_CONNECTION_ERRORS = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
]);
/** S3's "slow down" answers (retried). */
export const S3_THROTTLING = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException', 'RequestThrottled']);
/** Other answers that a later try may not get (retried). */
export const S3_TRANSIENT = new Set(['RequestTimeout', 'RequestTimeoutException', 'InternalError', 'PriorRequestNotComplete']);
const DOWN = new Set([...S3_CONNECTION_ERRORS, ...S3_THROTTLING, ...S3_TRANSIENT, 'ENOTFOUND', 'TimeoutError', 'ServiceUnavailable']);

function codeOf(err: SdkErrorShape): ErrorCode {
  const names = [err.name, err.code, err.Code, (err.cause as SdkErrorShape | undefined)?.code].filter((n): n is string => typeof n === 'string' && n !== '');
  const status = err.$metadata?.httpStatusCode;
  if (names.some((n) => DENIED.has(n)) || status === 403 || status === 401) return 'PERMISSION_DENIED';
  if (names.some((n) => MISSING.has(n)) || status === 404) return 'NOT_FOUND';
  if (names.some((n) => DOWN.has(n) || n.startsWith('UND_ERR_')) || (status !== undefined && (status >= 500 || status === 429))) return 'UNAVAILABLE';
  if (names.includes('PreconditionFailed') || status === 412) return 'FAILED_PRECONDITION';
  if (status === 400 || status === 416) return 'INVALID_ARGUMENT';
  // A network failure without an HTTP answer (socket hang up, aborted connection).
  if (status === undefined && /socket|connect|network|hang up|EOF/i.test(err.message ?? '')) return 'UNAVAILABLE';
  return 'INTERNAL';
}

function detailOf(err: SdkErrorShape, code: ErrorCode): string {
  const attempts = err.$metadata?.attempts;
  const name = err.code ?? err.name ?? 'Error';
  const raw = err.message && err.message !== 'UnknownError' && err.message !== name ? `${name}: ${err.message}` : `${name} (HTTP ${err.$metadata?.httpStatusCode ?? '-'})`;
  if (code === 'PERMISSION_DENIED') return `permission denied, check the access key id and secret (${raw})`;
  if (code === 'UNAVAILABLE' && attempts && attempts > 1) return `S3 is unavailable after ${attempts} attempts (${raw})`;
  if (code === 'UNAVAILABLE') return `S3 is unavailable (${raw})`;
  return raw;
}

/** The StrataError for a failed S3 call on `uri` (an s3:// address), keeping the SDK error as cause. */
export function s3Error(err: unknown, operation: string, uri: string): StrataError {
  if (err instanceof StrataError) return err;
  const e = (err ?? {}) as SdkErrorShape;
  const code = codeOf(e);
  return new StrataError(code, `S3 ${operation} ${uri}: ${detailOf(e, code)}`, { cause: err });
}

/** True when the SDK error says the bucket or key does not exist. */
export function isS3NotFound(err: unknown): boolean {
  const e = (err ?? {}) as SdkErrorShape;
  return codeOf(e) === 'NOT_FOUND';
}
