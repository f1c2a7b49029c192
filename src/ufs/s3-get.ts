/**
 * Ranged GETs of objects, the hot path of every cold read, sent without the SDK's per-request
 * middleware stack: for a 100 KB object that stack cost three to four times the CPU of the
 * request itself (0.43-0.55 against 0.12 ms per GET, measured side by side on s3rver), and a
 * cold epoch of small files is bound by CPU. Everything that decides *where* and *as whom* a
 * request goes still comes from the SDK client: its credentials provider (the default chain,
 * refreshed by the SDK), region and endpoint rules (virtual-hosted or path style, partitions);
 * requests are signed by the SDK's own SigV4 signer and sent through an undici pool.
 *
 * Retries follow the SDK's standard mode: throttling, 5xx and connection failures before the
 * answer's head arrives are tried again, up to maxRetries more times, after an exponential
 * backoff with full jitter (base 100 ms, at most 20 s). A body that fails midway is not retried
 * here: the reader sees the error (the block fill fails and a later read fills again).
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { Agent, type Dispatcher } from '../common/http-pool.js';
import { S3_CONNECTION_ERRORS, S3_THROTTLING, S3_TRANSIENT } from './s3-errors.js';
import type { S3Settings } from './s3-options.js';

const BASE_DELAY_MS = 100;
const MAX_DELAY_MS = 20_000;
/** The most of an error answer read to find its S3 error code. */
const ERROR_BODY_LIMIT = 4096;
/** Credentials that expire are fetched again this long before (the SDK's own margin). */
const CREDENTIALS_REFRESH_MS = 5 * 60_000;

type AwsCredentialIdentity = Awaited<ReturnType<S3Client['config']['credentials']>>;
/** Answers the SDK's standard mode tries again, beside throttling. */
const TRANSIENT_STATUS = new Set([500, 502, 503, 504]);

/** What an S3 error looks like to s3-errors.ts (the shape the SDK throws). */
export interface S3ErrorShape {
  name: string;
  message: string;
  $metadata: { httpStatusCode?: number; attempts: number };
  cause?: unknown;
}

export interface BucketEndpoint {
  url: URL;
  signingRegion: string;
  signingService: string;
}

export interface GetAnswer {
  body: Readable;
  etag: string;
  contentRange?: string;
  contentLength: number;
}

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: SourceData): string | Uint8Array =>
  typeof d === 'string' ? d : d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

/** SigV4's hash, from node:crypto (the signer asks for a constructor of this shape). */
class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
}

/** RFC 3986 escaping of each segment of a key, keeping its slashes, as S3's canonical URI wants. */
function encodeKey(key: string): string {
  return key
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

function header(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function retryable(err: S3ErrorShape): boolean {
  const status = err.$metadata.httpStatusCode;
  if (status === undefined) return S3_CONNECTION_ERRORS.has(err.name);
  return TRANSIENT_STATUS.has(status) || status === 429 || S3_THROTTLING.has(err.name) || S3_TRANSIENT.has(err.name);
}

async function errorOf(res: Dispatcher.ResponseData, attempts: number): Promise<S3ErrorShape> {
  let text = '';
  try {
    for await (const chunk of res.body) {
      text += String(chunk);
      if (text.length >= ERROR_BODY_LIMIT) break;
    }
  } catch {
    // The code is then told by the status alone.
  } finally {
    res.body.destroy();
  }
  const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1];
  const message = /<Message>([^<]+)<\/Message>/.exec(text)?.[1] ?? '';
  return { name: code ?? `HTTP${res.statusCode}`, message, $metadata: { httpStatusCode: res.statusCode, attempts } };
}

function networkError(err: unknown, attempts: number): S3ErrorShape {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string } };
  const name = e.name === 'AbortError' ? 'AbortError' : (e.cause?.code ?? e.code ?? e.name ?? 'NetworkError');
  return { name, message: `network error: ${e.message ?? String(err)}`, $metadata: { attempts }, cause: err };
}

export class S3Gets {
  private readonly agent: Agent;
  private readonly signer: SignatureV4;
  private readonly buckets = new Map<string, BucketEndpoint | null>();
  private regionLoading?: Promise<string>;
  private identity?: { value: AwsCredentialIdentity; untilMs: number };

  constructor(
    private readonly client: S3Client,
    private readonly settings: S3Settings,
  ) {
    this.agent = new Agent({
      connections: settings.maxConnections,
      keepAliveTimeout: 10_000,
      connectTimeout: settings.connectTimeoutMs,
      headersTimeout: settings.requestTimeoutMs,
      bodyTimeout: settings.requestTimeoutMs,
    });
    this.signer = new SignatureV4({
      service: 's3',
      region: () => this.region(),
      credentials: () => this.credentials(),
      sha256: NodeSha256,
      // S3 signs the path as sent: each key segment escaped once (what the SDK does for S3).
      uriEscapePath: false,
      applyChecksum: false,
    });
  }

  /**
   * The SDK's identity, asked again only when it nears expiry (as the SDK's own refresh does):
   * going through its provider chain on every GET cost more than signing.
   */
  private async credentials(): Promise<AwsCredentialIdentity> {
    if (this.identity && Date.now() < this.identity.untilMs) return this.identity.value;
    const value = await this.client.config.credentials();
    this.identity = { value, untilMs: value.expiration ? value.expiration.getTime() - CREDENTIALS_REFRESH_MS : Infinity };
    return value;
  }

  private region(): Promise<string> {
    this.regionLoading ??= this.client.config.region();
    return this.regionLoading;
  }

  /**
   * Where and how to sign for a bucket, by the SDK's endpoint rules ("http://host:port/bucket" or
   * "https://bucket.s3.region.amazonaws.com/"); null when its scheme is not plain SigV4 (S3
   * Express directory buckets, multi-region access points): the SDK serves those.
   */
  async endpoint(bucket: string): Promise<BucketEndpoint | null> {
    let e = this.buckets.get(bucket);
    if (e === undefined) {
      const region = await this.region();
      const resolved = this.client.config.endpointProvider({
        Bucket: bucket,
        Region: region,
        ForcePathStyle: this.settings.forcePathStyle,
        Endpoint: this.settings.endpoint,
        UseFIPS: false,
        UseDualStack: false,
        Accelerate: false,
      });
      const scheme = (resolved.properties?.authSchemes as Array<{ name?: string; signingRegion?: string; signingName?: string }> | undefined)?.[0];
      e = scheme && scheme.name !== 'sigv4' ? null : { url: resolved.url, signingRegion: scheme?.signingRegion ?? region, signingService: scheme?.signingName ?? 's3' };
      this.buckets.set(bucket, e);
    }
    return e;
  }

  /**
   * GET bytes [offset, offset+length) of an object. Throws an S3ErrorShape (for s3Error) when
   * S3 refuses or stays unreachable after the retries.
   */
  async get(endpoint: BucketEndpoint, key: string, offset: number, length: number, signal?: AbortSignal): Promise<GetAnswer> {
    const base = endpoint.url;
    const path = `${base.pathname.replace(/\/$/, '')}/${encodeKey(key)}`;
    const range = `bytes=${offset}-${offset + length - 1}`;
    const attemptsAllowed = this.settings.maxRetries + 1;
    for (let attempt = 1; ; attempt++) {
      let failure: S3ErrorShape;
      try {
        const signed = await this.signer.sign({
          method: 'GET',
          protocol: base.protocol,
          hostname: base.hostname,
          port: base.port ? Number(base.port) : undefined,
          path,
          query: {},
          headers: { host: base.host, range, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
        }, {
          signingRegion: endpoint.signingRegion,
          signingService: endpoint.signingService,
          // The SDK's correction for a skewed clock, learnt from earlier answers.
          signingDate: new Date(Date.now() + (this.client.config.systemClockOffset ?? 0)),
        });
        const res = await this.agent.request({ origin: base.origin, path, method: 'GET', headers: signed.headers, signal });
        if (res.statusCode < 300) {
          return {
            body: res.body,
            etag: (header(res.headers, 'etag') ?? '').replace(/^"|"$/g, ''),
            contentRange: header(res.headers, 'content-range'),
            contentLength: Number(header(res.headers, 'content-length') ?? -1),
          };
        }
        failure = await errorOf(res, attempt);
      } catch (err) {
        failure = networkError(err, attempt);
      }
      if (attempt >= attemptsAllowed || !retryable(failure) || signal?.aborted) throw failure;
      await sleep(Math.random() * Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt), undefined, { signal }).catch(() => undefined);
    }
  }

  destroy(): void {
    void this.agent.destroy();
  }
}
