/**
 * Where a generated dataset goes: a local folder, or an S3 bucket (any S3-compatible server).
 * A sink takes whole files by relative path; callers bound how many puts run at once.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

export interface DatasetSink {
  /** Where files go, for messages: a folder or an s3:// address. */
  readonly location?: string;
  put(relPath: string, data: Buffer): Promise<void>;
  close?(): Promise<void>;
}

/** Refuses paths that would leave the dataset's folder or prefix. */
function checkRelPath(relPath: string): void {
  if (!relPath || relPath.startsWith('/') || relPath.split('/').some((p) => p === '..' || p === '.' || p === '')) {
    throw new Error(`"${relPath}" is not a relative path inside the dataset`);
  }
}

export function localSink(dir: string): DatasetSink {
  const root = resolve(dir);
  const made = new Map<string, Promise<unknown>>();
  return {
    location: root,
    async put(relPath, data) {
      checkRelPath(relPath);
      const file = join(root, ...relPath.split('/'));
      const parent = dirname(file);
      if (!made.has(parent)) made.set(parent, mkdir(parent, { recursive: true }));
      await made.get(parent);
      await writeFile(file, data);
    },
  };
}

export interface S3SinkOptions {
  bucket: string;
  /** Key prefix; files land under `<prefix>/<relPath>`. */
  prefix?: string;
  endpoint?: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  pathStyle?: boolean;
  /** More S3 options by the names `strata fs mount --option` takes (s3.max.retries=5, ...). */
  options?: Record<string, string>;
}

/**
 * Puts each file as one PutObject through the same client settings as Strata's S3 under-storage
 * (timeouts, retries, no optional checksums). The SDK is loaded on the first put, and the bucket
 * is checked then, so a wrong bucket or key fails on the first file with NOT_FOUND or
 * PERMISSION_DENIED rather than on every one.
 */
export function s3Sink(opts: S3SinkOptions): DatasetSink {
  const prefix = (opts.prefix ?? '').split('/').filter(Boolean).join('/');
  const location = prefix ? `s3://${opts.bucket}/${prefix}` : `s3://${opts.bucket}`;
  const named: Record<string, string | undefined> = {
    's3.endpoint': opts.endpoint,
    's3.region': opts.region,
    'aws.accessKeyId': opts.accessKeyId,
    'aws.secretKey': opts.secretAccessKey,
    's3.path.style': opts.pathStyle === undefined ? undefined : String(opts.pathStyle),
  };
  const options = { ...opts.options, ...Object.fromEntries(Object.entries(named).filter((e): e is [string, string] => e[1] !== undefined)) };
  let ready: Promise<{ send(key: string, body: Buffer): Promise<void>; destroy(): void }> | undefined;
  const connect = async () => {
    const [{ parseS3Options }, { S3Objects }, { s3Error }, { PutObjectCommand }] = await Promise.all([
      import('../ufs/s3-options.js'),
      import('../ufs/s3-objects.js'),
      import('../ufs/s3-errors.js'),
      import('@aws-sdk/client-s3'),
    ]);
    const objects = new S3Objects(parseS3Options(options));
    await objects.headBucket(opts.bucket);
    return {
      async send(key: string, body: Buffer) {
        try {
          await objects.client.send(new PutObjectCommand({ Bucket: opts.bucket, Key: key, Body: body, ContentLength: body.length }));
        } catch (err) {
          throw s3Error(err, 'PutObject', `s3://${opts.bucket}/${key}`);
        }
      },
      destroy: () => objects.destroy(),
    };
  };
  return {
    location,
    async put(relPath, data) {
      checkRelPath(relPath);
      ready ??= connect();
      await (await ready).send(prefix ? `${prefix}/${relPath}` : relPath, data);
    },
    async close() {
      if (ready) (await ready.catch(() => undefined))?.destroy();
    },
  };
}

