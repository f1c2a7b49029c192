/**
 * SIMPLE-mode authorization, as Alluxio does it: the caller's user name is trusted (it comes
 * with the cluster token), and mode bits are checked against owner, group and others. The user
 * that runs the master and members of the supergroup pass every check.
 */
import { readFileSync } from 'node:fs';
import { StrataError } from '../common/errors.js';
import { modeString } from '../common/modes.js';
import type { InodeRow } from './metastore.js';

export interface Caller {
  user: string;
  group: string;
}

export type Access = 'r' | 'w' | 'x';
const BIT: Record<Access, number> = { r: 4, w: 2, x: 1 };

function groupMembers(): Map<string, Set<string>> {
  const map = new Map<string, Set<string>>();
  try {
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const [name, , , members] = line.split(':');
      if (name) map.set(name, new Set((members ?? '').split(',').filter(Boolean)));
    }
  } catch {
    // No group file: only primary groups count.
  }
  return map;
}

export class PermissionChecker {
  private members?: Map<string, Set<string>>;

  constructor(
    private readonly opts: { enabled: boolean; superUser: string; superGroup: string },
  ) {}

  isSuperUser(caller: Caller): boolean {
    return !this.opts.enabled || caller.user === this.opts.superUser || this.inGroup(caller, this.opts.superGroup);
  }

  inGroup(caller: Caller, group: string): boolean {
    if (caller.group === group) return true;
    this.members ??= groupMembers();
    return this.members.get(group)?.has(caller.user) ?? false;
  }

  private allowed(inode: InodeRow, caller: Caller, access: Access): boolean {
    const bit = BIT[access];
    if (inode.owner === caller.user) return ((inode.mode >> 6) & bit) !== 0;
    if (this.inGroup(caller, inode.grp)) return ((inode.mode >> 3) & bit) !== 0;
    return (inode.mode & bit) !== 0;
  }

  /** Checks `access` on the last inode of a resolved chain and traversal (x) on its ancestors. */
  check(chain: readonly InodeRow[], paths: readonly string[], caller: Caller, access: Access | null): void {
    if (this.isSuperUser(caller)) return;
    for (let i = 0; i < chain.length - 1; i++) {
      if (!this.allowed(chain[i]!, caller, 'x')) this.deny(caller, 'x', paths[i]!, chain[i]!);
    }
    const last = chain[chain.length - 1]!;
    if (access && !this.allowed(last, caller, access)) this.deny(caller, access, paths[chain.length - 1]!, last);
  }

  /** Changing mode or times needs ownership. */
  checkOwner(inode: InodeRow, path: string, caller: Caller): void {
    if (this.isSuperUser(caller) || inode.owner === caller.user) return;
    throw new StrataError('PERMISSION_DENIED', `Permission denied: user=${caller.user} is not the owner of ${path} (owner ${inode.owner})`);
  }

  checkSuperUser(caller: Caller, what: string): void {
    if (this.isSuperUser(caller)) return;
    throw new StrataError('PERMISSION_DENIED', `Permission denied: only the superuser may ${what} (user=${caller.user})`);
  }

  private deny(caller: Caller, access: Access, path: string, inode: InodeRow): never {
    const want = { r: 'READ', w: 'WRITE', x: 'EXECUTE' }[access];
    throw new StrataError(
      'PERMISSION_DENIED',
      `Permission denied: user=${caller.user}, access=${want}, path=${path}: owner=${inode.owner}, group=${inode.grp}, mode=${modeString(inode.mode, inode.folder === 1)}`,
    );
  }
}
