/**
 * A real S3 server for tests and benchmarks: s3rver (an independent implementation from npm) as a child process
 * on 127.0.0.1, a free port and a fresh temporary folder; stop() kills it by PID and removes the
 * folder (so does this process's exit, should a test forget). Node 20 needs
 * --openssl-legacy-provider for s3rver's ListObjectsV2. s3rver knows one access key id, S3RVER,
 * and refuses others (403), but does not check secrets.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Agent as HttpAgent } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from './cli-env.js';
import { stopChild } from './stop-child.js';

export const S3RVER_KEY = 'S3RVER';

// As in src/ufs/s3-objects.ts: no Node-version nag from the SDK in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface S3Server {
  endpoint: string;
  port: number;
  /** The server's process. */
  pid: number;
  dir: string;
  /** An SDK client with the server's credentials, for checking what Strata did. */
  client: S3Client;
  /** Mount options that reach this server (credentials, endpoint, path style), plus `extra`. */
  options(extra?: Record<string, string>): Record<string, string>;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

export function s3rverScript(): string {
  const require = createRequire(import.meta.url);
  try {
    return join(dirname(require.resolve('s3rver/package.json')), 'bin', 's3rver.js');
  } catch {
    // A development dependency: installs made with --omit=dev lack it.
    throw new Error('s3rver is not installed: benchmarks and tests that start an S3 server need the development dependencies (npm ci)');
  }
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`s3rver exited with ${child.exitCode} before listening`);
    const open = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`s3rver did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A plain SDK client for an s3rver (or a proxy in front of one) at `endpoint`; `maxSockets` above
 * the SDK's 50 lets more requests be in flight at once.
 */
export function s3rverClient(endpoint: string, maxSockets?: number): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(maxSockets ? { requestHandler: { httpAgent: new HttpAgent({ keepAlive: true, maxSockets }) } } : {}),
  });
}

/**
 * The server runs as it would on its own: not with the thread pool Strata's launcher asks for
 * (UV_THREADPOOL_SIZE, inherited by benchmarks). Every object it serves takes several trips
 * through the pool, and with 16 threads on two cores each cost 12% more CPU than with Node's
 * default of 4 (0.83 against 0.74 ms per 100 KB GET), CPU taken from the client under test on
 * the same machine.
 */
function serverEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.UV_THREADPOOL_SIZE;
  return env;
}

export async function startS3rver(): Promise<S3Server> {
  const dir = mkdtempSync(join(tmpdir(), 'strata-s3rver-'));
  const port = await freePort();
  const child = spawn(process.execPath, ['--openssl-legacy-provider', s3rverScript(), '-d', dir, '-a', '127.0.0.1', '-p', String(port), '--silent'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: serverEnv(),
  });
  const killOnExit = (): void => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  await waitForPort(port, child, 15_000);
  const endpoint = `http://127.0.0.1:${port}`;
  const client = s3rverClient(endpoint);
  return {
    endpoint,
    port,
    pid: child.pid!,
    dir,
    client,
    options: (extra = {}) => ({ 'aws.accessKeyID': S3RVER_KEY, 'aws.secretKey': S3RVER_KEY, 's3.endpoint': endpoint, 's3.path.style': 'true', ...extra }),
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    async stop() {
      client.destroy();
      process.removeListener('exit', killOnExit);
      await stopChild(child, 3000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
