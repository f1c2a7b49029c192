/** The machine's mounts, from /proc/mounts, with their escaped characters decoded. */
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';

export interface SystemMount {
  source: string;
  target: string;
  type: string;
  options: string;
}

const decode = (s: string) => s.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));

/** In mount order: where mounts stack on one target, the last one is the one seen there. */
export function systemMounts(): SystemMount[] {
  const out: SystemMount[] = [];
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const [source, target, type, options] = line.split(' ');
    if (!source || !target || !type) continue;
    out.push({ source: decode(source), target: decode(target), type, options: options ?? '' });
  }
  return out;
}

/** Mount points below `dir` (not `dir` itself), which is resolved as /proc/mounts names it. */
export function mountsUnder(dir: string): string[] {
  try {
    dir = realpathSync(dir);
  } catch {
    // Gone: nothing can be mounted below it.
    return [];
  }
  return systemMounts()
    .map((m) => m.target)
    .filter((target) => target.startsWith(`${dir}/`));
}

/** Lazily unmounts every mount below `dir`, deepest first (for cleanups: what fails is left). */
export function unmountAllUnder(dir: string): void {
  for (const target of mountsUnder(dir).reverse()) {
    try {
      execFileSync('umount', ['-l', target], { stdio: 'pipe' });
    } catch {
      // Not ours to force: the folder's removal then fails and says so.
    }
  }
}
