/**
 * How V8 compiles WebAssembly in this process: undici parses HTTP with llhttp compiled to it.
 * V8 compiles it quickly first, then again optimized on background threads, and a process that
 * is done waits at exit for those threads: a shell command, which makes a few calls and exits,
 * spent 80 ms of its ~500 waiting so. Shell commands keep the quick compile; a daemon, which
 * parses answers for hours, asks for the optimized one before its first request.
 */
import { setFlagsFromString } from 'node:v8';

/** For a command that makes a few calls and exits (the default in `main`). */
export function compileWasmForShortRun(): void {
  setFlagsFromString('--liftoff-only');
}

/** For a daemon, before it makes any HTTP request. */
export function compileWasmForLongRun(): void {
  setFlagsFromString('--no-liftoff-only');
}
