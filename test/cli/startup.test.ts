/**
 * A shell command loads what it runs and not what daemons and benchmarks run: the master's and
 * the worker's code, the S3 SDK, pino, prom-client and undici's fetch and WebSocket more than
 * doubled every command's time (bench/cli-start.ts). Checked on real `strata` processes by the
 * packages they had loaded when they exited.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliEnv, STRATA } from '../helpers/cli.js';

let env: CliEnv;
let preload: string;
before(async () => {
  env = await CliEnv.create();
  // The packages checked here are CommonJS: what loads them shows in require's cache. Strata's
  // own master, worker and logger (ES modules) show through them (SQLite, prom-client, pino).
  preload = join(env.dir, 'report-loaded.mjs');
  writeFileSync(
    preload,
    `import { createRequire } from 'node:module';
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => process.stderr.write('\\nLOADED ' + JSON.stringify(Object.keys(cache)) + '\\n'));
`,
  );
});
after(async () => {
  await env?.cleanup();
});

/** The files under node_modules a `strata args...` process had loaded when it exited. */
function loadedBy(args: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    // As CliEnv runs commands: this environment's configuration, none from the caller's.
    const childEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(STRATA|ALLUXIO)_/.test(k)));
    execFile(process.execPath, ['--import', preload, STRATA, ...args], { env: { ...childEnv, STRATA_CONF_DIR: env.confDir } }, (_err, _stdout, stderr) => {
      const line = stderr.split('\n').find((l) => l.startsWith('LOADED '));
      if (!line) return reject(new Error(`no report of loaded modules; stderr: ${stderr}`));
      resolve((JSON.parse(line.slice('LOADED '.length)) as string[]).filter((f) => f.includes('/node_modules/')).map((f) => f.replace(/.*\/node_modules\//, '')));
    });
  });
}

const DAEMON_ONLY = /^(@aws-sdk|@smithy|pino|prom-client|better-sqlite3|pngjs)\//;

for (const args of [['--help'], ['fs', 'ls', '/'], ['fs', 'stat', '/data/x']]) {
  test(`strata ${args.join(' ')} loads no daemon's, benchmark's or SDK's package`, async () => {
    const loaded = await loadedBy(args);
    assert.deepEqual(loaded.filter((f) => DAEMON_ONLY.test(f)), []);
    assert.ok(!loaded.includes('undici/index.js'), "undici's whole package (fetch, WebSocket) was loaded");
  });
}

test('a command that calls the master loads undici\'s connection pool (what the check above would see)', async () => {
  // No cluster runs: the call fails, after the client's code has loaded.
  const loaded = await loadedBy(['fs', 'ls', '/']);
  assert.ok(loaded.includes('undici/lib/dispatcher/agent.js'), `loaded: ${loaded.join(', ')}`);
  assert.ok(loaded.includes('commander/index.js'));
});
