/**
 * The cluster token: a shared secret that master, workers and clients send with every call,
 * so that nobody else on the network can read or delete data. `strata.security.token` wins;
 * otherwise the token file (written by `strata local start`, readable by its owner only).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Configuration } from './config/configuration.js';
import { currentUser } from './users.js';
import type { RpcIdentity } from './rpc/client.js';

export function clusterToken(conf: Configuration): string | undefined {
  const set = conf.getOptional('strata.security.token');
  if (set) return set;
  const file = conf.get('strata.security.token.file');
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Creates the token file if there is none; returns the token in force. */
export function ensureTokenFile(conf: Configuration): string {
  const existing = clusterToken(conf);
  if (existing) return existing;
  const file = conf.get('strata.security.token.file');
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const token = randomBytes(24).toString('base64url');
  if (!existsSync(file)) writeFileSync(file, token + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return readFileSync(file, 'utf8').trim();
}

export function identityFrom(conf: Configuration): RpcIdentity {
  const me = currentUser();
  return {
    token: clusterToken(conf),
    user: conf.getOptional('strata.security.login.username') || me.user,
    group: me.group,
  };
}
