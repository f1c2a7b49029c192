/**
 * How V8 compiles WebAssembly in this process: undici parses HTTP with llhttp compiled to it.
 * V8 compiles it quickly first, then again optimized on background threads, and a process that
 * is done waits at exit for those threads: a shell command, which makes a few calls and exits,
 * spent 80 ms of its ~500 waiting so. Shell commands take the quick compile alone; daemons,
 * which parse answers for hours, are left V8's default. The choice is made once, before any
 * request: V8 does not turn its optimizing tiers back on when the flag is unset.
 */
import { setFlagsFromString } from 'node:v8';

/**
 * Whether `strata args...` (its --conf pairs taken out) runs a daemon: `master`, `worker`,
 * `local run`, and `fuse mount -f` (without -f, `fuse mount` starts that daemon and returns).
 */
export function runsDaemon(args: readonly string[]): boolean {
  const [command, sub] = args;
  if (command === 'master' || command === 'worker') return true;
  if (command === 'local') return sub === 'run';
  return command === 'fuse' && sub === 'mount' && args.slice(2).includes('-f');
}

/** Called by `main` before the command runs. */
export function chooseWasmCompile(args: readonly string[]): void {
  if (!runsDaemon(args)) setFlagsFromString('--liftoff-only');
}
