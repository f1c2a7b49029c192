/**
 * Writes one S3 object through lib-storage's Upload: the bytes stream into parts of the
 * configured size, several parts in flight, and the object appears only when the multipart
 * upload completes on close() (an object smaller than one part is a single PUT, also sent only at
 * close). abort() aborts the upload, so S3 keeps no parts and the key is left as it was.
 * Memory stays bounded: write() waits while the upload is (partSize x concurrency) behind.
 */
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { StrataError } from '../common/errors.js';
import { s3Error } from './s3-errors.js';
import type { UfsStatus, UfsWriteStream } from './under-file-system.js';

export interface S3WriteTarget {
  client: S3Client;
  bucket: string;
  key: string;
  partSize: number;
  queueSize: number;
  /** The status of the object once written (a HEAD, so the fingerprint equals a listing's). */
  statusAfter(): Promise<UfsStatus>;
}

export class S3WriteStream implements UfsWriteStream {
  private readonly body = new PassThrough({ highWaterMark: 1 << 20 });
  private readonly upload: Upload;
  private readonly finished: Promise<void>;
  private failure?: unknown;
  private state: 'open' | 'closed' | 'aborted' = 'open';

  constructor(private readonly t: S3WriteTarget) {
    this.upload = new Upload({
      client: t.client,
      params: { Bucket: t.bucket, Key: t.key, Body: this.body },
      partSize: t.partSize,
      queueSize: t.queueSize,
      leavePartsOnError: false,
    });
    this.finished = this.upload.done().then(
      () => undefined,
      (err: unknown) => {
        this.failure = err;
        // Unblock a writer waiting for 'drain' that will never come.
        this.body.emit('drain');
        throw err;
      },
    );
    this.finished.catch(() => undefined);
  }

  private get address(): string {
    return `s3://${this.t.bucket}/${this.t.key}`;
  }

  private fail(): never {
    throw s3Error(this.failure, 'upload', this.address);
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.state !== 'open') throw new StrataError('FAILED_PRECONDITION', `Upload of ${this.address} is already ${this.state}`);
    if (this.failure) this.fail();
    if (!this.body.write(chunk)) await once(this.body, 'drain');
    if (this.failure) this.fail();
  }

  async close(): Promise<UfsStatus> {
    if (this.state !== 'open') throw new StrataError('FAILED_PRECONDITION', `Upload of ${this.address} is already ${this.state}`);
    this.state = 'closed';
    this.body.end();
    try {
      await this.finished;
    } catch (err) {
      throw s3Error(err, 'upload', this.address);
    }
    return this.t.statusAfter();
  }

  async abort(): Promise<void> {
    if (this.state === 'aborted') return;
    this.state = 'aborted';
    await this.upload.abort().catch(() => undefined);
    this.body.destroy();
    await this.finished.catch(() => undefined);
  }
}
