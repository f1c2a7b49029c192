/** Maps uids and gids to names the way `ls -l` does, reading /etc/passwd and /etc/group once. */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';

function readIdFile(path: string): Map<number, string> {
  const map = new Map<number, string>();
  try {
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && id !== undefined && /^\d+$/.test(id)) map.set(Number(id), name);
    }
  } catch {
    // No such file (a minimal container): fall back to numeric ids.
  }
  return map;
}

let users: Map<number, string> | undefined;
let groups: Map<number, string> | undefined;

export function userName(uid: number): string {
  users ??= readIdFile('/etc/passwd');
  return users.get(uid) ?? String(uid);
}

export function groupName(gid: number): string {
  groups ??= readIdFile('/etc/group');
  return groups.get(gid) ?? String(gid);
}

export function userIdOf(name: string): number | undefined {
  users ??= readIdFile('/etc/passwd');
  for (const [id, n] of users) if (n === name) return id;
  return /^\d+$/.test(name) ? Number(name) : undefined;
}

export function groupIdOf(name: string): number | undefined {
  groups ??= readIdFile('/etc/group');
  for (const [id, n] of groups) if (n === name) return id;
  return /^\d+$/.test(name) ? Number(name) : undefined;
}

/** The user a command runs as, and its primary group: the identity sent with every request. */
export function currentUser(): { user: string; group: string } {
  const info = userInfo();
  return { user: info.username, group: groupName(info.gid) };
}
