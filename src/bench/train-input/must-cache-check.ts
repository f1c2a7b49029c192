/**
 * The MUST_CACHE check: a training job writes intermediate files (checkpoints, extracted
 * archives) through the mount with write type MUST_CACHE; they must be readable back, listed by
 * Strata as NOT_PERSISTED, and never reach the bucket. The bucket is listed with the plain SDK,
 * straight from the server, after waiting out several persistence-checker rounds (an
 * ASYNC_THROUGH write would have been persisted by then); the same listing finding the dataset's
 * keys shows it looks in the right place.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { CliEnv } from '../cli-env.js';
import type { S3Server } from '../s3rver.js';

export interface MustCacheResult {
  passed: boolean;
  filesWritten: number;
  bytesWritten: number;
  /** Files read back through the mount with the bytes written. */
  readBack: number;
  /** Files `strata fs ls` shows as NOT_PERSISTED. */
  notPersisted: number;
  /** Keys under the intermediate folder's prefix in the bucket: must be 0. */
  keysInBucket: number;
  /** Control: keys of the dataset the same kind of listing finds. */
  datasetKeys: number;
  detail: string;
}

const FOLDER = 'intermediate';
const FILES = 16;
/** Several rounds of the persistence checker (CliEnv sets 200 ms). */
const PERSIST_WAIT_MS = 2000;

async function countKeys(s3: S3Server, bucket: string, prefix: string): Promise<number> {
  const r = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return r.KeyCount ?? r.Contents?.length ?? 0;
}

export async function checkMustCache(p: {
  mountPoint: string;
  strataDir: string;
  cluster: CliEnv;
  s3: S3Server;
  bucket: string;
  prefix: string;
  fileBytes: number;
}): Promise<MustCacheResult> {
  const dir = join(p.mountPoint, FOLDER);
  await mkdir(dir);
  const written = Array.from({ length: FILES }, (_, i) => ({ name: `part-${String(i).padStart(5, '0')}.bin`, data: randomBytes(p.fileBytes) }));
  for (const f of written) await writeFile(join(dir, f.name), f.data);
  let readBack = 0;
  for (const f of written) if ((await readFile(join(dir, f.name))).equals(f.data)) readBack++;
  await sleep(PERSIST_WAIT_MS);

  const ls = await p.cluster.run(['fs', 'ls', `${p.strataDir}/${FOLDER}`]);
  const notPersisted = ls.stdout.split('\n').filter((line) => /\sNOT_PERSISTED\s/.test(line)).length;
  const keysInBucket = await countKeys(p.s3, p.bucket, `${p.prefix}/${FOLDER}/`);
  const datasetKeys = await countKeys(p.s3, p.bucket, `${p.prefix}/`);
  const problems = [
    readBack !== FILES && `${FILES - readBack} of ${FILES} files read back wrong through the mount`,
    notPersisted !== FILES && `strata fs ls shows ${notPersisted} of ${FILES} files NOT_PERSISTED${ls.code !== 0 ? ` (exit ${ls.code}: ${ls.stderr.trim()})` : ''}`,
    keysInBucket !== 0 && `${keysInBucket} keys under s3://${p.bucket}/${p.prefix}/${FOLDER}/ reached the bucket`,
    datasetKeys === 0 && `the control listing of s3://${p.bucket}/${p.prefix}/ found no dataset keys`,
  ].filter((x): x is string => typeof x === 'string');
  return {
    passed: problems.length === 0,
    filesWritten: FILES,
    bytesWritten: FILES * p.fileBytes,
    readBack,
    notPersisted,
    keysInBucket,
    datasetKeys,
    detail: problems.length ? problems.join('; ') : `${FILES} files written through the mount: read back, NOT_PERSISTED in Strata, no key in the bucket`,
  };
}
