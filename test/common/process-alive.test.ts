/**
 * processAlive: a process that exited but was not reaped (a zombie) is not alive, though its pid
 * still takes signals; `local stop` and `local start` decide by it (in a container, init may
 * reap a daemon late or never).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processAlive } from '../../src/common/process-alive.js';

const state = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.charAt(stat.lastIndexOf(')') + 2);
};

test('a running process is alive; an exited one left unreaped by its parent is not, though kill(pid, 0) still succeeds', async (t) => {
  // The shell starts a child and then becomes `sleep 30`, which never reaps it.
  const parent = spawn('sh', ['-c', 'sleep 30 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => parent.kill('SIGKILL'));
  let out = '';
  for await (const chunk of parent.stdout) {
    out += String(chunk);
    if (out.includes('\n')) break;
  }
  const childPid = Number(out.trim());
  assert.ok(childPid > 0, `child pid from "${out}"`);
  assert.equal(processAlive(parent.pid!), true);
  assert.equal(processAlive(childPid), true);
  process.kill(childPid, 'SIGKILL');
  const deadline = Date.now() + 5000;
  while (state(childPid) !== 'Z' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(state(childPid), 'Z', 'the child should be a zombie now');
  assert.doesNotThrow(() => process.kill(childPid, 0));
  assert.equal(processAlive(childPid), false);
});

test('the state is read after the command name, whatever the name holds', async (t) => {
  // A program named ") Z (": a parser that takes the first ')' would read its state as Z.
  const dir = mkdtempSync(join(tmpdir(), 'strata-proc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const odd = join(dir, ') Z (');
  copyFileSync('/bin/sleep', odd);
  const child = spawn(odd, ['30'], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  await new Promise((r) => child.once('spawn', r));
  assert.match(readFileSync(`/proc/${child.pid}/stat`, 'utf8'), /\(\) Z \(\)/);
  assert.equal(processAlive(child.pid!), true);
});

test('a pid that names no process is not alive', () => {
  // Above any pid the kernel gives out (pid_max is at most 2^22).
  assert.equal(processAlive(2 ** 22 + 1), false);
});
