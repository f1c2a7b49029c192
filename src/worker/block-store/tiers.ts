/**
 * Space accounting for the tiers and their folders. A folder's space is its quota; used bytes
 * are committed blocks (and removed blocks still held by a lease), reserved bytes are blocks
 * being written or moved in. Both count against the quota. Each folder also counts, per file,
 * the blocks occupying that file's cache file, so that the file can be deleted when the count
 * drops to zero and new blocks of a file can go where the file already is.
 */
import { resolve, join } from 'node:path';
import { StrataError } from '../../common/errors.js';
import { isMemoryBacked } from '../../common/memory-fs.js';
import type { TierConfig } from './types.js';

export class TierDir {
  usedBytes = 0;
  reservedBytes = 0;
  /** fileId -> blocks that occupy (or are about to occupy) <path>/<fileId>. */
  readonly files = new Map<number, number>();

  constructor(
    readonly tier: Tier,
    readonly path: string,
    readonly quotaBytes: number,
  ) {}

  get freeBytes(): number {
    return this.quotaBytes - this.usedBytes - this.reservedBytes;
  }

  /** On tmpfs or ramfs: its bytes do not outlive the machine, so syncing them buys nothing. */
  get memoryBacked(): boolean {
    return isMemoryBacked(this.path);
  }

  cacheFile(fileId: number): string {
    return join(this.path, String(fileId));
  }

  holdsFile(fileId: number): boolean {
    return (this.files.get(fileId) ?? 0) > 0;
  }

  /** Counts a block that will occupy the file's cache file here. */
  reserve(fileId: number, bytes: number): void {
    this.reservedBytes += bytes;
    this.files.set(fileId, (this.files.get(fileId) ?? 0) + 1);
  }

  /** A reservation that was never committed; returns the file's remaining block count. */
  unreserve(fileId: number, bytes: number): number {
    this.reservedBytes -= bytes;
    return this.release(fileId);
  }

  /** Gives back part of a reservation (a block that ended shorter than reserved). */
  shrinkReservation(bytes: number): void {
    this.reservedBytes -= bytes;
  }

  /** A reservation that became a committed block. */
  commit(bytes: number): void {
    this.reservedBytes -= bytes;
    this.usedBytes += bytes;
  }

  /** A committed block found in the index at startup. */
  adopt(fileId: number, bytes: number): void {
    this.usedBytes += bytes;
    this.files.set(fileId, (this.files.get(fileId) ?? 0) + 1);
  }

  /** A committed block whose bytes were punched out; returns the file's remaining block count. */
  free(fileId: number, bytes: number): number {
    this.usedBytes -= bytes;
    return this.release(fileId);
  }

  private release(fileId: number): number {
    const left = (this.files.get(fileId) ?? 0) - 1;
    if (left > 0) this.files.set(fileId, left);
    else this.files.delete(fileId);
    return Math.max(left, 0);
  }
}

export class Tier {
  readonly dirs: TierDir[] = [];

  constructor(
    readonly alias: string,
    readonly level: number,
  ) {}

  get capacityBytes(): number {
    return this.dirs.reduce((n, d) => n + d.quotaBytes, 0);
  }

  get usedBytes(): number {
    return this.dirs.reduce((n, d) => n + d.usedBytes + d.reservedBytes, 0);
  }

  /** A folder with `bytes` free, preferring the one that already holds the file. */
  dirWithRoom(fileId: number, bytes: number): TierDir | undefined {
    const fits = this.dirs.filter((d) => d.freeBytes >= bytes);
    return fits.find((d) => d.holdsFile(fileId)) ?? fits.sort((a, b) => b.freeBytes - a.freeBytes)[0];
  }
}

/** Builds the tiers from configuration, checking aliases and folders are not repeated. */
export function buildTiers(configs: TierConfig[]): Tier[] {
  if (configs.length === 0) throw new StrataError('INVALID_ARGUMENT', 'block store needs at least one tier');
  const aliases = new Set<string>();
  const paths = new Set<string>();
  return configs.map((cfg, level) => {
    if (aliases.has(cfg.alias)) throw new StrataError('INVALID_ARGUMENT', `tier ${cfg.alias} is listed twice`);
    aliases.add(cfg.alias);
    if (cfg.dirs.length === 0) throw new StrataError('INVALID_ARGUMENT', `tier ${cfg.alias} has no folders`);
    const tier = new Tier(cfg.alias, level);
    for (const d of cfg.dirs) {
      const path = resolve(d.path);
      if (paths.has(path)) throw new StrataError('INVALID_ARGUMENT', `folder ${path} is listed twice`);
      if (!(Number.isSafeInteger(d.quotaBytes) && d.quotaBytes > 0)) {
        throw new StrataError('INVALID_ARGUMENT', `folder ${path} needs a positive quota`);
      }
      paths.add(path);
      tier.dirs.push(new TierDir(tier, path, d.quotaBytes));
    }
    return tier;
  });
}
