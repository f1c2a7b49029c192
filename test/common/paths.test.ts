import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizePath, parentPath, isUnder } from '../../src/common/paths.js';
import { StrataError, ErrorCodes } from '../../src/common/errors.js';

test('paths are normalised and bad ones rejected with the path named', () => {
  assert.equal(normalizePath('/a//b/./c/'), '/a/b/c');
  assert.equal(normalizePath('/'), '/');
  for (const bad of ['a/b', '', '/a/../b', '..', '/a/\0']) {
    assert.throws(() => normalizePath(bad), (e: unknown) => e instanceof StrataError && e.code === 'INVALID_ARGUMENT');
  }
  assert.throws(() => normalizePath('/data/../etc'), /climbs/);
  assert.equal(parentPath('/a/b'), '/a');
  assert.equal(parentPath('/a'), '/');
  assert.ok(isUnder('/a/b', '/a'));
  assert.ok(!isUnder('/ab', '/a'));
});

test('every error code maps to an HTTP status, an exit code and an errno', () => {
  for (const [code, m] of Object.entries(ErrorCodes)) {
    const e = new StrataError(code as keyof typeof ErrorCodes, 'x');
    assert.equal(e.httpStatus, m.http);
    assert.ok(e.exitCode > 0);
    assert.match(e.errno, /^E[A-Z]+$/);
  }
  assert.notEqual(new StrataError('NOT_FOUND', '').exitCode, new StrataError('ALREADY_EXISTS', '').exitCode);
});
