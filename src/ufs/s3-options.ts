/**
 * The options of an S3 mount, as given with `fs mount --option k=v` or
 * `strata.master.mount.table.root.option.k=v`. Each setting has Alluxio's name where Alluxio has
 * one (alluxio.underfs.s3.endpoint, aws.accessKeyId, ...), its strata.* twin, and a short name
 * (s3.endpoint). An unknown key is refused, naming it, so a typo never silently falls back to a
 * default (a mistyped endpoint would otherwise send requests, and credentials, to AWS).
 * Parsed here without loading the AWS SDK: a bad option fails fast and cheaply.
 */
import { StrataError } from '../common/errors.js';
import { parseDuration, parseSize } from '../common/config/units.js';

export interface S3Location {
  bucket: string;
  /** Key prefix without leading or trailing slash; '' for the bucket root. */
  key: string;
}

export interface S3Settings {
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  /** Reads longer than this are split into parallel ranged GETs of this size. */
  readPartSize: number;
  readConcurrency: number;
  uploadPartSize: number;
  uploadConcurrency: number;
  /** Connections open at once to the endpoint, for all requests together. */
  maxConnections: number;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  maxRetries: number;
}

type Kind = 'string' | 'bool' | 'size' | 'duration' | 'int';

interface OptionSpec {
  setting: keyof S3Settings;
  kind: Kind;
  names: string[];
  description: string;
}

/** Both spellings of an Alluxio S3 property: alluxio.underfs.s3.X and strata.underfs.s3.X. */
const underfs = (suffix: string): string[] => [`alluxio.underfs.s3.${suffix}`, `strata.underfs.s3.${suffix}`];

export const S3_OPTIONS: OptionSpec[] = [
  { setting: 'accessKeyId', kind: 'string', names: ['aws.accessKeyID', 'aws.accessKeyId', 's3a.accessKeyId'], description: 'Access key id (else the AWS default chain)' },
  { setting: 'secretAccessKey', kind: 'string', names: ['aws.secretKey', 'aws.secretAccessKey', 's3a.secretKey'], description: 'Secret access key' },
  { setting: 'sessionToken', kind: 'string', names: ['aws.sessionToken'], description: 'Session token of temporary credentials' },
  { setting: 'endpoint', kind: 'string', names: [...underfs('endpoint'), 's3.endpoint'], description: 'Endpoint URL, e.g. http://127.0.0.1:4568' },
  { setting: 'region', kind: 'string', names: [...underfs('endpoint.region'), 's3.region'], description: 'Region (default us-east-1)' },
  { setting: 'forcePathStyle', kind: 'bool', names: [...underfs('disable.dns.buckets'), 's3.path.style'], description: 'Path-style addressing (http://host/bucket/key)' },
  { setting: 'readPartSize', kind: 'size', names: ['s3.read.part.size'], description: 'Size of one ranged GET of a large read' },
  { setting: 'readConcurrency', kind: 'int', names: ['s3.read.concurrency'], description: 'Ranged GETs in flight for one large read' },
  { setting: 'uploadPartSize', kind: 'size', names: [...underfs('streaming.upload.partition.size'), 's3.upload.part.size'], description: 'Multipart upload part size (at least 5MB)' },
  { setting: 'uploadConcurrency', kind: 'int', names: [...underfs('upload.threads.max'), 's3.upload.concurrency'], description: 'Parts uploaded at once' },
  { setting: 'maxConnections', kind: 'int', names: [...underfs('connections.max'), 's3.max.connections'], description: 'Connections open at once to the endpoint (a far bucket needs many requests in flight)' },
  { setting: 'connectTimeoutMs', kind: 'duration', names: [...underfs('connection.timeout'), 's3.connect.timeout'], description: 'TCP connect timeout' },
  { setting: 'requestTimeoutMs', kind: 'duration', names: [...underfs('request.timeout'), 's3.request.timeout'], description: 'Idle socket (read) timeout of a request' },
  { setting: 'maxRetries', kind: 'int', names: [...underfs('max.error.retry'), 's3.max.retries'], description: 'Retries after throttling, 5xx and network errors' },
];

const DEFAULTS: S3Settings = {
  region: 'us-east-1',
  forcePathStyle: false,
  readPartSize: 64 << 20,
  readConcurrency: 4,
  uploadPartSize: 16 << 20,
  uploadConcurrency: 4,
  maxConnections: 128,
  connectTimeoutMs: 5_000,
  requestTimeoutMs: 60_000,
  maxRetries: 3,
};

const MIN_UPLOAD_PART = 5 << 20;

const byName = new Map(S3_OPTIONS.flatMap((spec) => spec.names.map((n) => [n.toLowerCase(), spec] as const)));

export function parseS3Uri(uri: string): S3Location {
  const m = /^s3a?:\/\/([^/]+)(\/.*)?$/i.exec(uri);
  if (!m) throw new StrataError('INVALID_ARGUMENT', `${uri} is not an S3 address like s3://bucket/prefix`);
  const bucket = m[1]!;
  if (bucket.length < 3 || bucket.length > 63 || !/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(bucket)) {
    throw new StrataError('INVALID_ARGUMENT', `Bucket name "${bucket}" in ${uri} is not valid: 3 to 63 lower-case letters, digits, dots and hyphens`);
  }
  const key = (m[2] ?? '').split('/').filter(Boolean).join('/');
  return { bucket, key };
}

function parseValue(spec: OptionSpec, key: string, value: string): string | number | boolean {
  const bad = (expected: string) => new StrataError('INVALID_ARGUMENT', `Invalid value "${value}" for S3 option ${key}: expected ${expected}`);
  switch (spec.kind) {
    case 'string':
      return value;
    case 'bool':
      if (!/^(true|false)$/i.test(value.trim())) throw bad('true or false');
      return value.trim().toLowerCase() === 'true';
    case 'int': {
      if (!/^\d+$/.test(value.trim())) throw bad('a whole number');
      return Number(value.trim());
    }
    case 'size': {
      const n = parseSize(value);
      if (n === undefined || n <= 0) throw bad('a size such as 8MB');
      return n;
    }
    case 'duration': {
      const n = parseDuration(value);
      if (n === undefined || n <= 0) throw bad('a duration such as 500ms or 5s');
      return n;
    }
  }
}

/** Settings from mount options; throws INVALID_ARGUMENT naming the first unknown or bad key. */
export function parseS3Options(options: Record<string, string>): S3Settings {
  const settings: Record<string, unknown> = { ...DEFAULTS };
  for (const [key, value] of Object.entries(options)) {
    const spec = byName.get(key.toLowerCase());
    if (!spec) {
      throw new StrataError('INVALID_ARGUMENT', `Unknown S3 option "${key}"; known: ${S3_OPTIONS.map((s) => s.names.at(-1)).join(', ')} (and their alluxio.underfs.s3.* names)`);
    }
    settings[spec.setting] = parseValue(spec, key, value);
  }
  const s = settings as unknown as S3Settings;
  if (s.uploadPartSize < MIN_UPLOAD_PART) throw new StrataError('INVALID_ARGUMENT', `S3 upload part size ${s.uploadPartSize} is below S3's minimum of 5MB`);
  if (s.readConcurrency < 1 || s.uploadConcurrency < 1) throw new StrataError('INVALID_ARGUMENT', 'S3 read and upload concurrency must be at least 1');
  if (s.maxConnections < 1) throw new StrataError('INVALID_ARGUMENT', 'S3 option s3.max.connections (alluxio.underfs.s3.connections.max) must be at least 1');
  if ((s.accessKeyId === undefined) !== (s.secretAccessKey === undefined)) {
    throw new StrataError('INVALID_ARGUMENT', 'Give both aws.accessKeyId and aws.secretKey, or neither (then the AWS default chain applies)');
  }
  if (s.endpoint !== undefined && !/^https?:\/\/[^/]+/.test(s.endpoint)) {
    throw new StrataError('INVALID_ARGUMENT', `S3 endpoint "${s.endpoint}" is not a URL like http://host:port`);
  }
  return s;
}
