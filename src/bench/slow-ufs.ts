/**
 * The `--slow-ufs` setting: how a bucket in another region looks from here, e.g.
 * `latency=20ms,bandwidth=100MB/s`. Durations and sizes are read with the project's parsers, so
 * `100MB/s` is 100 × 2^20 bytes per second, as `100MB` is everywhere else in Strata.
 */
import { parseDuration, parseSize } from '../common/config/units.js';
import { StrataError } from '../common/errors.js';

export interface SlowUfs {
  /** Added to each HTTP request's round trip (and once more to a new connection's handshake). */
  latencyMs: number;
  /** Cap on the bytes per second of all connections together, per direction; Infinity for none. */
  bytesPerSecond: number;
}

const EXAMPLE = 'latency=20ms,bandwidth=100MB/s';

export function parseSlowUfs(text: string): SlowUfs {
  const bad = (why: string) => new StrataError('INVALID_ARGUMENT', `--slow-ufs "${text}": ${why} (example: ${EXAMPLE})`);
  const out: SlowUfs = { latencyMs: 0, bytesPerSecond: Infinity };
  const seen = new Set<string>();
  for (const part of text.split(',').map((p) => p.trim())) {
    const eq = part.indexOf('=');
    if (eq < 0) throw bad(`"${part}" is not key=value`);
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (seen.has(key)) throw bad(`${key} is given twice`);
    seen.add(key);
    if (key === 'latency') {
      const ms = parseDuration(value);
      if (ms === undefined || ms < 0) throw bad(`latency "${value}" is not a duration such as 20ms`);
      out.latencyMs = ms;
    } else if (key === 'bandwidth') {
      const perSecond = /^(.*?)\s*\/\s*s$/i.exec(value)?.[1];
      const bytes = perSecond === undefined ? undefined : parseSize(perSecond);
      if (bytes === undefined || bytes <= 0) throw bad(`bandwidth "${value}" is not a rate such as 100MB/s`);
      out.bytesPerSecond = bytes;
    } else {
      throw bad(`unknown key "${key}": known are latency and bandwidth`);
    }
  }
  return out;
}

export function describeSlowUfs(s: SlowUfs): string {
  const bw = Number.isFinite(s.bytesPerSecond) ? `${(s.bytesPerSecond / 1e6).toFixed(1)} MB/s` : 'no bandwidth cap';
  return `${s.latencyMs} ms per request, ${bw}`;
}
