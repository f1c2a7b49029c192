/**
 * processAlive: a process that exited but was not reaped (a zombie) is not alive, though its pid
 * still takes signals; `local stop` and `local start` decide by it (in a container, init may
 * reap a daemon late or never).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { processAlive } from '../../src/common/process-alive.js';

const state = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.charAt(stat.lastIndexOf(')') + 2);
};

test('a running process is alive; an exited one left unreaped by its parent is not, though kill(pid, 0) still succeeds', async (t) => {
  // The shell starts a short child and then becomes `sleep 30`, which never reaps it.
  const parent = spawn('sh', ['-c', 'sleep 0.2 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => parent.kill('SIGKILL'));
  const childPid = await new Promise<number>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  assert.equal(processAlive(parent.pid!), true);
  assert.equal(processAlive(childPid), true);
  const deadline = Date.now() + 5000;
  while (state(childPid) !== 'Z' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(state(childPid), 'Z', 'the child should be a zombie now');
  assert.doesNotThrow(() => process.kill(childPid, 0));
  assert.equal(processAlive(childPid), false);
});

test('a pid that names no process is not alive', () => {
  // Above any pid the kernel gives out (pid_max is at most 2^22).
  assert.equal(processAlive(2 ** 22 + 1), false);
});
