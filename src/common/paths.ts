/**
 * Strata paths are absolute, slash-separated and normalised. Anything else (relative, `..`,
 * empty components that are not just doubled slashes, NUL) is rejected with a message that names
 * the path, rather than silently resolved: a `..` that escapes a mount must never reach a UFS.
 */
import { StrataError } from './errors.js';

export function normalizePath(input: string): string {
  if (typeof input !== 'string' || input.length === 0) {
    throw new StrataError('INVALID_ARGUMENT', 'Path is empty: a Strata path must be absolute, like /data/file');
  }
  if (input.includes('\0')) throw new StrataError('INVALID_ARGUMENT', `Path ${JSON.stringify(input)} contains a NUL byte`);
  if (!input.startsWith('/')) {
    throw new StrataError('INVALID_ARGUMENT', `Path ${input} is not absolute: Strata paths start with /`);
  }
  const parts: string[] = [];
  for (const part of input.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') throw new StrataError('INVALID_ARGUMENT', `Path ${input} climbs with "..": give the path without it`);
    parts.push(part);
  }
  return '/' + parts.join('/');
}

export function pathComponents(path: string): string[] {
  return path === '/' ? [] : path.slice(1).split('/');
}

export function parentPath(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function joinPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/** True when `path` is `ancestor` or lies below it. */
export function isUnder(path: string, ancestor: string): boolean {
  return ancestor === '/' || path === ancestor || path.startsWith(ancestor + '/');
}
