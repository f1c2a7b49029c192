/**
 * Configuration: defaults < $STRATA_CONF_DIR/strata-site.properties < environment < --conf.
 * Values are validated when set, so a bad one fails at start with the key and what it accepts.
 */
import { readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { StrataError } from '../errors.js';
import { OPEN_PREFIXES, PROPERTY_KEYS, type PropertyKey } from './properties.js';
import { parseDuration, parseSize } from './units.js';

export type Source = 'default' | 'site' | 'env' | 'cli' | 'runtime';

interface Entry {
  value: string;
  source: Source;
}

const byName = new Map(PROPERTY_KEYS.filter((k) => !k.name.includes('{N}')).map((k) => [k.name, k]));
const templates = PROPERTY_KEYS.filter((k) => k.name.includes('{N}')).map((k) => {
  const [before, after] = k.name.split('{N}') as [string, string];
  return { key: k, re: new RegExp(`^${before.replace(/\./g, '\\.')}(\\d+)${after.replace(/\./g, '\\.')}$`) };
});

/** Alluxio keys that name Alluxio inside them. */
const RENAMED: Record<string, string> = { 'strata.worker.fuse.mount.alluxio.path': 'strata.worker.fuse.mount.strata.path' };

/** `alluxio.x` is the same key as `strata.x`. */
export function canonicalKey(key: string): string {
  const k = key.startsWith('alluxio.') ? `strata.${key.slice('alluxio.'.length)}` : key;
  return RENAMED[k] ?? k;
}

function lookup(key: string): { key: PropertyKey; level?: number } | undefined {
  const direct = byName.get(key);
  if (direct) return { key: direct };
  for (const t of templates) {
    const m = t.re.exec(key);
    if (m) return { key: t.key, level: Number(m[1]) };
  }
  return undefined;
}

export function isKnownKey(key: string): boolean {
  const k = canonicalKey(key);
  return lookup(k) !== undefined || OPEN_PREFIXES.some((p) => k.startsWith(p));
}

function validate(name: string, prop: PropertyKey, value: string): void {
  const bad = (accepted: string) =>
    new StrataError('INVALID_ARGUMENT', `Invalid value "${value}" for ${name}: expected ${accepted}`);
  switch (prop.type) {
    case 'int':
      if (!/^-?\d+$/.test(value.trim())) throw bad('an integer');
      break;
    case 'bool':
      if (!/^(true|false)$/i.test(value.trim())) throw bad('true or false');
      break;
    case 'size':
      if (parseSize(value) === undefined) throw bad('a size such as 1048576, 64MB or 1GB');
      break;
    case 'duration':
      if (parseDuration(value) === undefined) throw bad('a duration such as -1, 0, 500ms, 10s or 5min');
      break;
    case 'enum':
      if (!prop.values!.includes(value.trim().toUpperCase())) throw bad(`one of ${prop.values!.join(', ')}`);
      break;
    default:
      break;
  }
}

/** Parses a .properties file: key=value or key: value lines, # and ! comments. */
export function parseProperties(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('!')) continue;
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (m) out.push([m[1]!, m[2]!.trim()]);
  }
  return out;
}

/** Parses `key=value` pairs given on the command line. */
export function parseAssignments(pairs: readonly string[]): Array<[string, string]> {
  return pairs.map((pair) => {
    const i = pair.indexOf('=');
    if (i <= 0) throw new StrataError('INVALID_ARGUMENT', `"${pair}" is not key=value`);
    return [pair.slice(0, i).trim(), pair.slice(i + 1).trim()];
  });
}

export class Configuration {
  private readonly entries = new Map<string, Entry>();
  readonly warnings: string[] = [];

  static load(opts: { cli?: readonly string[]; env?: NodeJS.ProcessEnv; confDir?: string } = {}): Configuration {
    const conf = new Configuration();
    const env = opts.env ?? process.env;
    const confDir = opts.confDir ?? env.STRATA_CONF_DIR ?? 'conf';
    let site: string | undefined;
    try {
      site = readFileSync(join(confDir, 'strata-site.properties'), 'utf8');
    } catch {
      // No site file: defaults apply.
    }
    if (site !== undefined) for (const [k, v] of parseProperties(site)) conf.set(k, v, 'site');
    for (const [name, value] of Object.entries(env)) {
      if (value === undefined || !/^(STRATA|ALLUXIO)_/.test(name)) continue;
      const key = name.toLowerCase().replace(/_/g, '.');
      if (isKnownKey(key)) conf.set(key, value, 'env');
    }
    for (const [k, v] of parseAssignments(opts.cli ?? [])) conf.set(k, v, 'cli');
    return conf;
  }

  /** Sets a value; an unknown key is kept with a warning, a bad value throws. */
  set(key: string, value: string, source: Source = 'runtime'): this {
    const name = canonicalKey(key);
    const found = lookup(name);
    if (found) validate(name, found.key, value);
    else if (!OPEN_PREFIXES.some((p) => name.startsWith(p))) this.warnings.push(`Unknown property ${key} (ignored by Strata)`);
    this.entries.set(name, { value, source });
    return this;
  }

  /** A copy with more values set. */
  with(values: Record<string, string | number | boolean>): Configuration {
    const copy = new Configuration();
    for (const [k, e] of this.entries) copy.entries.set(k, { ...e });
    for (const [k, v] of Object.entries(values)) copy.set(k, String(v), 'runtime');
    return copy;
  }

  private raw(name: string): Entry | undefined {
    const set = this.entries.get(name);
    if (set) return set;
    const found = lookup(name);
    if (!found) return undefined;
    const def = typeof found.key.default === 'function' ? found.key.default(found.level ?? 0) : found.key.default;
    return def === undefined ? undefined : { value: def, source: 'default' };
  }

  private resolve(value: string, depth = 0): string {
    if (depth > 16) throw new StrataError('INVALID_ARGUMENT', `Property reference loop in "${value}"`);
    return value.replace(/\$\{([^}]+)\}/g, (_, ref: string) => {
      if (ref === 'user.home') return homedir();
      if (ref === 'user.name') return userInfo().username;
      const entry = this.raw(canonicalKey(ref));
      return entry ? this.resolve(entry.value, depth + 1) : '';
    });
  }

  has(key: string): boolean {
    return this.raw(canonicalKey(key)) !== undefined;
  }

  getOptional(key: string): string | undefined {
    const entry = this.raw(canonicalKey(key));
    return entry === undefined ? undefined : this.resolve(entry.value);
  }

  get(key: string): string {
    const value = this.getOptional(key);
    if (value === undefined) throw new StrataError('INVALID_ARGUMENT', `Property ${canonicalKey(key)} is not set`);
    return value;
  }

  source(key: string): Source | undefined {
    return this.raw(canonicalKey(key))?.source;
  }

  getInt(key: string): number {
    return Number.parseInt(this.get(key), 10);
  }

  getBool(key: string): boolean {
    return this.get(key).trim().toLowerCase() === 'true';
  }

  getBytes(key: string): number {
    return parseSize(this.get(key))!;
  }

  getMs(key: string): number {
    return parseDuration(this.get(key))!;
  }

  getEnum<T extends string>(key: string): T {
    return this.get(key).trim().toUpperCase() as T;
  }

  getList(key: string): string[] {
    return this.get(key).split(',').map((s) => s.trim()).filter(Boolean);
  }

  /** Every set value under a prefix, with the prefix cut off (mount options of the root). */
  withPrefix(prefix: string): Record<string, string> {
    const out: Record<string, string> = {};
    const p = canonicalKey(prefix);
    for (const [k, e] of this.entries) if (k.startsWith(p)) out[k.slice(p.length)] = this.resolve(e.value);
    return out;
  }

  /** Known keys and set ones, resolved, with where each value came from. */
  list(): Array<{ key: string; value: string | undefined; source: Source | undefined; description: string }> {
    const names = new Set<string>(byName.keys());
    const levels = this.getInt('strata.worker.tieredstore.levels');
    for (const t of templates) for (let n = 0; n < levels; n++) names.add(t.key.name.replace('{N}', String(n)));
    for (const k of this.entries.keys()) names.add(k);
    return [...names].sort().map((key) => ({
      key,
      value: this.getOptional(key),
      source: this.source(key),
      description: lookup(key)?.key.description ?? '',
    }));
  }
}
