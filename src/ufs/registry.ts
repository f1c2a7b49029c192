/** Finds the connector for a UFS URI by its scheme; a plain absolute path is a local folder. */
import { StrataError } from '../common/errors.js';
import { LocalUnderFileSystem } from './local.js';
import { S3UnderFileSystem } from './s3.js';
import type { UfsFactory, UnderFileSystem } from './under-file-system.js';

const factories = new Map<string, UfsFactory>([
  ['file', () => new LocalUnderFileSystem()],
  ['s3', (uri, options) => new S3UnderFileSystem(uri, options)],
]);

export function registerUfs(scheme: string, factory: UfsFactory): void {
  factories.set(scheme, factory);
}

export function schemeOf(uri: string): string {
  if (uri.startsWith('/')) return 'file';
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(uri);
  if (!m) throw new StrataError('INVALID_ARGUMENT', `UFS address ${uri} is neither an absolute path nor a URI like s3://bucket/prefix`);
  return m[1]!.toLowerCase();
}

export function createUfs(uri: string, options: Record<string, string> = {}): UnderFileSystem {
  const scheme = schemeOf(uri);
  const factory = factories.get(scheme);
  if (!factory) {
    throw new StrataError('INVALID_ARGUMENT', `No under-storage for scheme "${scheme}" in ${uri}; known: ${[...factories.keys()].join(', ')}`);
  }
  return factory(uri, options);
}
