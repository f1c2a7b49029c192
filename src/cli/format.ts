/** Alluxio's shell output formats: ls lines, times, sizes, modes. */
import type { FileInfo } from '../common/types.js';
import { formatBytes } from '../common/config/units.js';
import { modeString } from '../common/modes.js';

export { formatBytes };

const pad2 = (n: number) => String(n).padStart(2, '0');

/** MM-dd-yyyy HH:mm:ss:SSS in local time, as Alluxio's ls prints. */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  return `${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}-${d.getFullYear()} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}:${String(d.getMilliseconds()).padStart(3, '0')}`;
}


/** One ls line: permission, owner, group, size (children for a folder), state, time, cached %, path. */
export function lsLine(f: FileInfo, opts: { human?: boolean } = {}): string {
  const size = f.folder ? String(f.children) : opts.human ? formatBytes(f.length) : String(f.length);
  const cached = f.folder ? 'DIR' : `${f.inAlluxioPercentage}%`;
  return (
    modeString(f.mode, f.folder).padEnd(12) +
    f.owner.padEnd(15) +
    f.group.padEnd(15) +
    size.padStart(15) +
    f.persistenceState.padStart(16) +
    formatTime(f.lastModificationTimeMs).padStart(24) +
    cached.padStart(5) +
    ' ' +
    f.path
  );
}

export function parseOctalMode(text: string): number | undefined {
  return /^[0-7]{1,4}$/.test(text) ? Number.parseInt(text, 8) : undefined;
}
