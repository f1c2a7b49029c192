/**
 * Writes a new Strata file: one streaming upload to one worker (so the file's blocks stay
 * together), which caches and/or writes the UFS per the write type; on close the master
 * completes the file. A failed or aborted write deletes the incomplete file.
 */
import { PassThrough, Writable } from 'node:stream';
import { once } from 'node:events';
import { StrataError } from '../common/errors.js';
import type { RpcClient } from '../common/rpc/client.js';
import type { FileInfo, WriteType } from '../common/types.js';

export class FileOutStream {
  private readonly body = new PassThrough({ highWaterMark: 4 << 20 });
  private readonly upload: Promise<{ length: number; fingerprint?: string; ufsMtimeMs?: number }>;
  private failed?: unknown;
  bytesWritten = 0;

  constructor(
    readonly info: FileInfo,
    private readonly writeType: WriteType,
    worker: RpcClient,
    private readonly master: RpcClient,
  ) {
    this.upload = worker.upload('/api/v1/write', {
      fileId: info.fileId,
      blockSize: info.blockSize,
      writeType,
      mountId: info.mountId,
      ufsPath: info.ufsPath,
    }, this.body);
    this.upload.catch((err: unknown) => {
      this.failed = err;
      this.body.destroy();
    });
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.failed) throw this.failed;
    this.bytesWritten += chunk.length;
    if (!this.body.write(chunk)) {
      await Promise.race([once(this.body, 'drain'), this.upload]);
      if (this.failed) throw this.failed;
    }
  }

  /** Finishes the file; it is visible, whole, to other readers once this resolves. */
  async close(): Promise<FileInfo> {
    this.body.end();
    try {
      const r = await this.upload;
      if (r.length !== this.bytesWritten) throw new StrataError('DATA_LOSS', `Worker stored ${r.length} of ${this.bytesWritten} bytes of ${this.info.path}`);
      return await this.master.call<FileInfo>('POST', '/api/v1/complete', {
        body: { fileId: this.info.fileId, length: r.length, writeType: this.writeType, fingerprint: r.fingerprint, ufsMtimeMs: r.ufsMtimeMs },
      });
    } catch (err) {
      await this.cleanup();
      throw err;
    }
  }

  async abort(): Promise<void> {
    this.body.destroy();
    await this.upload.catch(() => undefined);
    await this.cleanup();
  }

  private async cleanup(): Promise<void> {
    await this.master.call('POST', '/api/v1/delete', { body: { path: this.info.path, recursive: false, alluxioOnly: true } }).catch(() => undefined);
  }

  /** A Writable for stream.pipeline(). */
  asWritable(): Writable {
    return new Writable({
      highWaterMark: 4 << 20,
      write: (chunk: Buffer, _enc, cb) => this.write(chunk).then(() => cb(), cb),
      final: (cb) => this.close().then(() => cb(), cb),
      destroy: (err, cb) => (err ? this.abort().then(() => cb(err), () => cb(err)) : cb(null)),
    });
  }
}
