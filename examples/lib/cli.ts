/**
 * Command-line handling shared by the example programs: flags spelled as TensorFlow's examples
 * spell them (--model_dir, --image_file), a usage text, and exit codes (2 for bad input, 1 for a
 * failure) with a one-line message instead of a stack trace.
 */
import { parseArgs } from 'node:util';

export class UsageError extends Error {}

export interface FlagSpec {
  /** What the flag takes, for the usage text; absent for a switch. */
  value?: string;
  default?: string;
  help: string;
}

export type Flags<T> = { [K in keyof T]: string | undefined };

function usageText(synopsis: string, specs: Record<string, FlagSpec>): string {
  const lines = Object.entries(specs).map(([name, s]) => {
    const left = `  --${name}${s.value ? ` <${s.value}>` : ''}`;
    return `${left.padEnd(34)}${s.help}${s.default !== undefined ? ` (default ${s.default})` : ''}`;
  });
  return `Usage: ${synopsis}\n${lines.join('\n')}\n`;
}

/** Parses process.argv; --help prints the usage and exits 0. */
export function parseFlags<T extends Record<string, FlagSpec>>(synopsis: string, specs: T, argv = process.argv.slice(2)): Flags<T> {
  const options = Object.fromEntries(Object.entries(specs).map(([name, s]) => [name, { type: s.value ? ('string' as const) : ('boolean' as const) }]));
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean' } }, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${usageText(synopsis, specs)}`);
  }
  if (values.help) {
    process.stdout.write(usageText(synopsis, specs));
    process.exit(0);
  }
  const out: Record<string, string | undefined> = {};
  for (const [name, s] of Object.entries(specs)) {
    const v = values[name];
    out[name] = typeof v === 'boolean' ? (v ? 'true' : undefined) : (v ?? s.default);
  }
  return out as Flags<T>;
}

/** A whole number from a flag, at least `min`. */
export function wholeNumber(text: string | undefined, flag: string, min = 0): number {
  const n = text !== undefined && /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${flag}: "${text ?? ''}" is not a whole number of at least ${min}`);
  return n;
}

export function required(text: string | undefined, flag: string): string {
  if (!text) throw new UsageError(`--${flag} is required (see --help)`);
  return text;
}

/** Runs an example's main(): bad input exits 2, any other failure 1, each with one message. */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => undefined,
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      if (process.env.STRATA_DEBUG && err instanceof Error && !(err instanceof UsageError)) process.stderr.write(`${err.stack}\n`);
      process.exitCode = err instanceof UsageError ? 2 : 1;
    },
  );
}
