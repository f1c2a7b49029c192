/** Model archives: pack a model folder, unpack it elsewhere; refuse archives that are not models or reach outside. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractModelArchive, packModelArchive } from '../../src/datasets/model-archive.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'strata-archive-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('pack then extract gives the same files; GNU tar reads the archive too', async () => {
  const model = join(dir, 'model');
  mkdirSync(join(model, 'not-packed'), { recursive: true });
  writeFileSync(join(model, 'model.json'), '{"modelTopology":{}}');
  writeFileSync(join(model, 'weights.bin'), Buffer.from([1, 2, 3, 4]));
  writeFileSync(join(model, 'labels.txt'), 'a\nb\n');
  const archive = join(dir, 'm.tgz');
  assert.deepEqual(await packModelArchive(model, archive), ['labels.txt', 'model.json', 'weights.bin']);
  assert.deepEqual(execFileSync('tar', ['tzf', archive], { encoding: 'utf8' }).trim().split('\n'), ['labels.txt', 'model.json', 'weights.bin']);
  const out = join(dir, 'out', 'deeper');
  assert.deepEqual(await extractModelArchive(archive, out), ['labels.txt', 'model.json', 'weights.bin']);
  for (const f of ['labels.txt', 'model.json', 'weights.bin']) assert.deepEqual(readFileSync(join(out, f)), readFileSync(join(model, f)), f);
});

test('an archive without model.json, or with paths into folders, is not a model archive', async () => {
  const other = join(dir, 'other');
  mkdirSync(join(other, 'sub'), { recursive: true });
  writeFileSync(join(other, 'sub', 'model.json'), '{}');
  writeFileSync(join(other, 'readme'), 'x');
  const archive = join(dir, 'other.tgz');
  execFileSync('tar', ['czf', archive, '-C', other, 'readme', 'sub/model.json']);
  const out = join(dir, 'other-out');
  await assert.rejects(extractModelArchive(archive, out), /holds no model\.json: not a TensorFlow\.js model archive/);
  assert.ok(!existsSync(join(out, 'sub')), 'nothing written into sub-folders');
  await assert.rejects(packModelArchive(other, join(dir, 'x.tgz')), /has no model\.json/);
});
