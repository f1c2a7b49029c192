/**
 * The object layer under the S3 connector: one AWS SDK v3 client and the few bucket calls the
 * file-system layer (s3.ts) composes (HEAD, one listing page, ranged GET, PUT of a folder marker,
 * copy, batched delete, multipart upload). Ranged GETs, the hot path, go around the SDK's
 * middleware (s3-get.ts). It knows keys, not folders. Every failure leaves as a
 * StrataError naming the s3:// address (s3-errors.ts).
 *
 * This is the only module that loads the SDK; s3.ts imports it on first use, so processes that
 * never touch S3 (every `strata fs` command) do not pay for loading it.
 *
 * Client settings that matter: the SDK's standard retry mode (exponential backoff with jitter on
 * throttling, 5xx and connection errors) with maxRetries+1 attempts; connect and idle-socket
 * timeouts; keep-alive sockets; checksums only where S3 requires them (the default CRC32 on every
 * PUT and GET costs CPU and is not understood by every S3-compatible server).
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { StrataError } from '../common/errors.js';
import { isS3NotFound, s3Error } from './s3-errors.js';
import { S3Gets, type GetAnswer } from './s3-get.js';
import type { S3Settings } from './s3-options.js';
import { S3WriteStream } from './s3-write-stream.js';
import type { UfsStatus } from './under-file-system.js';

export interface ObjectMeta {
  key: string;
  size: number;
  etag: string;
  lastModifiedMs: number;
}

export interface ListPage {
  objects: ObjectMeta[];
  /** Common prefixes, each ending in the delimiter. */
  prefixes: string[];
  next?: string;
}

/** S3 allows at most this many keys in one DeleteObjects call. */
const DELETE_BATCH = 1000;

// The SDK warns on every process start that its 2027 releases will need Node 22; Strata pins a
// release that supports Node 20, so the warning only tells users what they cannot act on.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const unquote = (etag: string | undefined): string => (etag ?? '').replace(/^"|"$/g, '');

/** Where the bytes of a (ranged) GET answer start: "bytes 100-199/1000" -> 100; a whole-object answer -> 0. */
function rangeStartOf(contentRange: string | undefined): number {
  const m = /^bytes (\d+)-/.exec(contentRange ?? '');
  return m ? Number(m[1]) : 0;
}

/**
 * Cuts a GET body to the range asked for. Some S3-compatible servers answer a range they do not
 * understand (s3rver: "bytes=0-0") with more than was asked, or with the whole object.
 */
async function* exactly(body: Readable, skip: number, length: number): AsyncGenerator<Buffer> {
  let toSkip = skip;
  let left = length;
  try {
    for await (const raw of body as AsyncIterable<Buffer>) {
      let chunk = raw;
      if (toSkip > 0) {
        const n = Math.min(toSkip, chunk.length);
        chunk = chunk.subarray(n);
        toSkip -= n;
      }
      if (chunk.length > left) chunk = chunk.subarray(0, left);
      if (chunk.length > 0) yield chunk;
      left -= chunk.length;
      if (left === 0) return;
    }
  } finally {
    body.destroy();
  }
}

export function addressOf(bucket: string, key: string): string {
  return key ? `s3://${bucket}/${key}` : `s3://${bucket}`;
}

export class S3Objects {
  readonly client: S3Client;
  private readonly gets: S3Gets;

  constructor(readonly settings: S3Settings) {
    const agent = { keepAlive: true, maxSockets: settings.maxConnections };
    this.client = new S3Client({
      region: settings.region,
      endpoint: settings.endpoint,
      forcePathStyle: settings.forcePathStyle,
      credentials: settings.accessKeyId
        ? { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey!, sessionToken: settings.sessionToken }
        : undefined,
      maxAttempts: settings.maxRetries + 1,
      retryMode: 'standard',
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: settings.connectTimeoutMs,
        socketTimeout: settings.requestTimeoutMs,
        httpAgent: new HttpAgent(agent),
        httpsAgent: new HttpsAgent(agent),
      },
    });
    this.gets = new S3Gets(this.client, settings);
  }

  /** Resolves when the bucket exists and the credentials may use it. */
  async headBucket(bucket: string): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: bucket }));
    } catch (err) {
      const e = s3Error(err, 'HeadBucket', addressOf(bucket, ''));
      if (e.code === 'NOT_FOUND') throw new StrataError('NOT_FOUND', `S3 bucket ${bucket} does not exist${this.settings.endpoint ? ` at ${this.settings.endpoint}` : ''}`, { cause: err });
      throw e;
    }
  }

  /** The object's metadata, or null when there is no such key. */
  async head(bucket: string, key: string): Promise<ObjectMeta | null> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { key, size: r.ContentLength ?? 0, etag: unquote(r.ETag), lastModifiedMs: r.LastModified?.getTime() ?? 0 };
    } catch (err) {
      if (isS3NotFound(err)) return null;
      throw s3Error(err, 'HeadObject', addressOf(bucket, key));
    }
  }

  async listPage(bucket: string, prefix: string, opts: { delimiter?: string; token?: string; maxKeys?: number; startAfter?: string } = {}): Promise<ListPage> {
    try {
      const r = await this.client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix || undefined,
          Delimiter: opts.delimiter,
          ContinuationToken: opts.token,
          MaxKeys: opts.maxKeys,
          StartAfter: opts.startAfter,
        }),
      );
      return {
        objects: (r.Contents ?? []).map((o) => ({ key: o.Key ?? '', size: o.Size ?? 0, etag: unquote(o.ETag), lastModifiedMs: o.LastModified?.getTime() ?? 0 })),
        prefixes: (r.CommonPrefixes ?? []).map((p) => p.Prefix ?? '').filter(Boolean),
        next: r.IsTruncated ? r.NextContinuationToken : undefined,
      };
    } catch (err) {
      throw s3Error(err, 'ListObjectsV2', addressOf(bucket, prefix));
    }
  }

  /** Every key under a prefix (no delimiter), page by page. */
  async *keysUnder(bucket: string, prefix: string): AsyncGenerator<ObjectMeta> {
    let token: string | undefined;
    do {
      const page = await this.listPage(bucket, prefix, { token });
      yield* page.objects;
      token = page.next;
    } while (token);
  }

  /** A ranged GET: around the SDK's middleware where the bucket signs with plain SigV4, else through the SDK. */
  private async rangedGet(bucket: string, key: string, offset: number, length: number, signal?: AbortSignal): Promise<GetAnswer> {
    const endpoint = await this.gets.endpoint(bucket);
    if (endpoint) return this.gets.get(endpoint, key, offset, length, signal);
    const r = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${offset}-${offset + length - 1}` }), { abortSignal: signal });
    return { body: r.Body as Readable, etag: unquote(r.ETag), contentRange: r.ContentRange, contentLength: r.ContentLength ?? -1 };
  }

  /** A ranged GET streamed as it arrives. */
  async getStream(bucket: string, key: string, offset: number, length: number): Promise<Readable> {
    try {
      const r = await this.rangedGet(bucket, key, offset, length);
      const skip = offset - rangeStartOf(r.contentRange);
      if (skip === 0 && r.contentLength === length) return r.body;
      return Readable.from(exactly(r.body, skip, length));
    } catch (err) {
      throw s3Error(err, 'GetObject', addressOf(bucket, key));
    }
  }

  /** A ranged GET as a stream cut to the range, with the ETag it is read at. */
  async getPart(bucket: string, key: string, offset: number, length: number, signal?: AbortSignal): Promise<{ body: AsyncIterable<Buffer>; etag: string }> {
    try {
      const r = await this.rangedGet(bucket, key, offset, length, signal);
      return { body: exactly(r.body, offset - rangeStartOf(r.contentRange), length), etag: r.etag };
    } catch (err) {
      throw s3Error(err, 'GetObject', addressOf(bucket, key));
    }
  }

  /** Writes an empty object (a folder marker "dir/"). */
  async putEmpty(bucket: string, key: string): Promise<void> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: new Uint8Array(0), ContentLength: 0 }));
    } catch (err) {
      throw s3Error(err, 'PutObject', addressOf(bucket, key));
    }
  }

  async copy(bucket: string, from: string, to: string): Promise<void> {
    const source = `${bucket}/${from.split('/').map(encodeURIComponent).join('/')}`;
    try {
      await this.client.send(new CopyObjectCommand({ Bucket: bucket, Key: to, CopySource: source }));
    } catch (err) {
      throw s3Error(err, `CopyObject to ${addressOf(bucket, to)} from`, addressOf(bucket, from));
    }
  }

  /** Deletes keys in batches of 1000; missing keys are not an error. */
  async deleteKeys(bucket: string, keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      let failed: Array<{ Key?: string; Code?: string; Message?: string }> = [];
      try {
        const r = await this.client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
        failed = r.Errors ?? [];
      } catch (err) {
        throw s3Error(err, 'DeleteObjects', addressOf(bucket, batch[0]!));
      }
      if (failed.length > 0) {
        const f = failed[0]!;
        throw s3Error({ name: f.Code, message: f.Message }, `DeleteObjects (${failed.length} keys failed)`, addressOf(bucket, f.Key ?? ''));
      }
    }
  }

  /** A multipart upload of one object, visible only once closed. */
  upload(bucket: string, key: string, statusAfter: () => Promise<UfsStatus>): S3WriteStream {
    return new S3WriteStream({
      client: this.client,
      bucket,
      key,
      partSize: this.settings.uploadPartSize,
      queueSize: this.settings.uploadConcurrency,
      statusAfter,
    });
  }

  destroy(): void {
    this.gets.destroy();
    this.client.destroy();
  }
}
