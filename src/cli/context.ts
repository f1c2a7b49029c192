/**
 * What every command needs: the configuration (with --conf overrides), a client made on first
 * use, output streams, and the mapping from StrataError to an exit code and a one-line message.
 */
import { Configuration } from '../common/config/configuration.js';
import { StrataError, toStrataError } from '../common/errors.js';
import { FileSystem } from '../client/file-system.js';
import type { Logger } from '../common/logging.js';

export class CliContext {
  private fsClient?: FileSystem;
  conf: Configuration;

  constructor(readonly confArgs: string[]) {
    this.conf = Configuration.load({ cli: confArgs });
    for (const w of this.conf.warnings) process.stderr.write(`Warning: ${w}\n`);
  }

  get fs(): FileSystem {
    this.fsClient ??= new FileSystem(this.conf);
    return this.fsClient;
  }

  out(line: string): void {
    process.stdout.write(line + '\n');
  }

  err(line: string): void {
    process.stderr.write(line + '\n');
  }

  async close(): Promise<void> {
    await this.fsClient?.close();
  }
}

/**
 * A daemon's logger to the work dir's logs/. pino loads here, in the commands that log, and not
 * in every shell command: each parses the files that register the commands, and starts faster
 * without it (the same holds for the master's, the worker's and the benchmarks' code, imported
 * in their commands' actions).
 */
export async function openLogger(name: string, conf: Configuration): Promise<Logger> {
  const { createLogger } = await import('../common/logging.js');
  return createLogger({ name, logDir: conf.get('strata.logs.dir') });
}

/** Prints an error as Alluxio's shell does (the message alone) and returns its exit code. */
export function reportError(err: unknown): number {
  const e = err instanceof StrataError ? err : toStrataError(err);
  process.stderr.write(`${e.message}\n`);
  if (e.code === 'INTERNAL' && process.env.STRATA_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
  return e.exitCode;
}

/** Pulls every `--conf key=value` (or `--conf=key=value`) out of argv, wherever it stands. */
export function extractConfArgs(argv: string[]): { rest: string[]; conf: string[] } {
  const rest: string[] = [];
  const conf: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--conf') {
      const v = argv[++i];
      if (v === undefined) throw new StrataError('INVALID_ARGUMENT', '--conf needs key=value');
      conf.push(v);
    } else if (a.startsWith('--conf=')) conf.push(a.slice('--conf='.length));
    else rest.push(a);
  }
  return { rest, conf };
}
