/**
 * Where a reader finds the dataset's files, by their paths relative to the dataset's root: a
 * folder (local disk, or the Strata mount), or an S3 prefix read with the plain AWS SDK.
 * Plain data, so that it crosses into reader threads.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type FolderLocation = { kind: 'folder'; root: string };
export type DatasetLocation = FolderLocation | { kind: 's3'; endpoint: string; bucket: string; prefix: string };

export interface FileReader {
  /** The whole file. */
  read(relPath: string): Promise<Buffer>;
}

/** `inFlight`: reads one reader has going at once (an SDK client gets sockets for them all). */
export async function openReader(location: DatasetLocation, inFlight = 1): Promise<FileReader> {
  if (location.kind === 'folder') {
    // A blocking read, as a DataLoader worker process or a tf.data thread does one: each reader
    // thread has one file in flight, and P threads have P.
    return { read: async (rel) => readFileSync(join(location.root, rel)) };
  }
  const [{ GetObjectCommand }, { s3rverClient }] = await Promise.all([import('@aws-sdk/client-s3'), import('../s3rver.js')]);
  const client = s3rverClient(location.endpoint, inFlight);
  const keyOf = (rel: string) => (location.prefix ? `${location.prefix}/${rel}` : rel);
  return {
    async read(rel) {
      const r = await client.send(new GetObjectCommand({ Bucket: location.bucket, Key: keyOf(rel) }));
      const bytes = await r.Body!.transformToByteArray();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    },
  };
}
