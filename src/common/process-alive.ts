/**
 * Whether a process runs. A process that has exited but that its parent has not reaped yet (a
 * zombie) does not, though signals still reach its pid: a daemon started in the background is
 * reaped by the machine's init, which in a container may take seconds, or never happen.
 */
import { readdirSync, readFileSync } from 'node:fs';

export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ...: comm may itself hold ')' and spaces.
    if (stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z') return true;
    // A zombie main thread whose other threads still run (one stuck in I/O, say) still holds
    // the process's files and sockets.
    return readdirSync(`/proc/${pid}/task`).length > 1;
  } catch {
    return false;
  }
}
