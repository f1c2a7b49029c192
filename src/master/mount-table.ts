/**
 * The mount table: which UFS URI (and options, credentials included) each Strata path maps to.
 * Lookups take the longest mount path that contains the path. Options are stored with the
 * mount and never leave the cluster: listings to clients redact secrets.
 */
import { StrataError } from '../common/errors.js';
import { isUnder } from '../common/paths.js';
import type { MountPointInfo } from '../common/types.js';
import { createUfs } from '../ufs/registry.js';
import type { UnderFileSystem } from '../ufs/under-file-system.js';
import type { MetaStore, MountRow } from './metastore.js';

export interface Mount {
  id: number;
  path: string;
  ufsUri: string;
  options: Record<string, string>;
  readOnly: boolean;
  shared: boolean;
  ufs: UnderFileSystem;
}

export interface Resolution {
  mount: Mount;
  ufsPath: string;
}

const SECRET = /(secret|password|token|key$|keyid$|credential|session)/i;

export function redactOptions(options: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(options)) out[k] = SECRET.test(k) ? '******' : v;
  return out;
}

export class MountTable {
  private mounts: Mount[] = [];

  constructor(private readonly store: MetaStore) {
    this.reload();
  }

  private reload(): void {
    const before = new Map(this.mounts.map((m) => [m.id, m]));
    this.mounts = this.store.mounts().map((row: MountRow) => {
      // Keep the connector (and its connections) of a mount that did not change.
      const kept = before.get(row.id);
      const same = kept && kept.ufsUri === row.ufs_uri && JSON.stringify(kept.options) === row.options;
      if (same) before.delete(row.id);
      const options = JSON.parse(row.options) as Record<string, string>;
      return {
        id: row.id,
        path: row.path,
        ufsUri: row.ufs_uri,
        options,
        readOnly: row.readonly === 1,
        shared: row.shared === 1,
        ufs: same ? kept.ufs : createUfs(row.ufs_uri, options),
      };
    });
    // Connectors of removed mounts let go of their connections.
    for (const gone of before.values()) void gone.ufs.close?.().catch(() => undefined);
  }

  /** The mount that holds `path` (longest match first; the root always matches). */
  resolve(path: string): Resolution {
    for (const mount of this.mounts) {
      if (isUnder(path, mount.path)) {
        const rel = path === mount.path ? '' : path.slice(mount.path === '/' ? 1 : mount.path.length + 1);
        return { mount, ufsPath: mount.ufs.join(mount.ufsUri, rel) };
      }
    }
    throw new StrataError('INTERNAL', `No mount holds ${path}: the root mount is missing`);
  }

  byId(id: number): Mount | undefined {
    return this.mounts.find((m) => m.id === id);
  }

  isMountPoint(path: string): boolean {
    return this.mounts.some((m) => m.path === path);
  }

  /** Mounts strictly below a path. */
  mountsUnder(path: string): Mount[] {
    return this.mounts.filter((m) => m.path !== path && isUnder(m.path, path));
  }

  add(row: Omit<MountRow, 'id'>): Mount {
    this.store.addMount(row);
    this.reload();
    return this.mounts.find((m) => m.path === row.path)!;
  }

  remove(path: string): void {
    this.store.removeMount(path);
    this.reload();
  }

  list(opts: { secrets?: boolean } = {}): MountPointInfo[] {
    return [...this.mounts]
      .sort((a, b) => a.path.localeCompare(b.path))
      .map((m) => ({
        path: m.path,
        ufsUri: m.ufsUri,
        mountId: m.id,
        readOnly: m.readOnly,
        shared: m.shared,
        options: opts.secrets ? { ...m.options } : redactOptions(m.options),
      }));
  }
}
