/** Structured logs (pino). Daemons log to a file in the work dir's logs/; commands to stderr. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(opts: { name: string; logDir?: string; level?: string }): Logger {
  const level = opts.level ?? process.env.STRATA_LOG_LEVEL ?? 'info';
  if (opts.logDir) {
    mkdirSync(opts.logDir, { recursive: true });
    const dest = pino.destination({ dest: join(opts.logDir, `${opts.name}.log`), sync: false, mkdir: true });
    return pino({ name: opts.name, level }, dest);
  }
  return pino({ name: opts.name, level }, pino.destination(2));
}

/** A logger that drops everything, for library use and tests that do not look at logs. */
export const silentLogger: Logger = pino({ level: 'silent' });
