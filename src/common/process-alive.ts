/**
 * Whether a process runs. A process that has exited but that its parent has not reaped yet (a
 * zombie) does not, though signals still reach its pid: a daemon started in the background is
 * reaped by the machine's init, which in a container may take seconds, or never happen.
 */
import { readFileSync } from 'node:fs';

export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ...: comm may itself hold ')' and spaces.
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return false;
  }
}
