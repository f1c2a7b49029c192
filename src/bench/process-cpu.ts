/**
 * CPU time a process has used (user + system, from /proc/PID/stat), so that a benchmark can say
 * what an operation cost its daemons in CPU, a number far steadier than wall time on a shared
 * machine; and how busy the whole machine's CPUs were (/proc/stat), so that it can tell a run
 * bound by CPU from one that waited. Linux only; undefined where /proc does not tell.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  return ticksPerSecond;
}

export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), from field 3 on: utime is 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return undefined;
  }
}

/** Clock ticks all CPUs together have spent busy, and in all, since boot. */
export interface MachineTicks {
  busy: number;
  total: number;
}

export function machineTicks(): MachineTicks | undefined {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal guest guest_nice: guests are counted in user.
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = cpu;
    const busy = user + nice + system + irq + softirq;
    return { busy, total: busy + idle + iowait + steal };
  } catch {
    return undefined;
  }
}

/** The share of all CPUs' time spent busy between two readings, 0..1. */
export function busyShare(before: MachineTicks | undefined, after: MachineTicks | undefined): number | undefined {
  if (!before || !after || after.total <= before.total) return undefined;
  return (after.busy - before.busy) / (after.total - before.total);
}
