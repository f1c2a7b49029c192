/**
 * The seed scenario's image recognition on a real local cluster and FUSE mount: make the model
 * archive, copy it into Strata, classify with --model_dir on the mount (the archive is extracted
 * there, through the mount), and check the predictions and what Strata now holds.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { FuseEnv } from '../helpers/fuse.js';
import { predictionsByImage, runExample, SOURCE_EXAMPLES } from '../helpers/examples.js';

let f: FuseEnv;
let archive: string;
before(async () => {
  f = await FuseEnv.create({ strataPath: '/training-data', props: { 'strata.user.file.writetype.default': 'MUST_CACHE' } });
  archive = join(f.env.dir, 'strata-shapes.tgz');
});
after(async () => {
  await f?.cleanup();
});

/** labels.txt lines as make-model writes them. */
const LABEL = /^class-\d\d, [a-z ]+ on [a-z ]+$/;

test('make-model writes a model archive that learned the shapes', async () => {
  const r = await runExample('make-model', ['--out', archive]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^epoch 1\/4: loss [\d.]+, accuracy [\d.]+ \([\d.]+ s\)$/m);
  const acc = Number(/validation accuracy ([\d.]+)/.exec(r.stdout)![1]);
  assert.ok(acc >= 0.9, `validation accuracy ${acc}`);
  assert.match(r.stdout, /Wrote .*strata-shapes\.tgz \(\d+ bytes: labels\.txt, model\.json, weights\.bin\): 6 classes, 16x16x3 input/);
});

test('classify on the mount: extracts the archive there (twice) and gets every bundled image right, top 5 each', async () => {
  const copy = await f.env.run(['fs', 'copyFromLocal', archive, '/training-data/models/']);
  assert.equal(copy.code, 0, copy.stderr);
  const r = await runExample('classify', ['--model_dir', f.path('models')], { cwd: f.env.dir });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Extracted strata-shapes\.tgz into .*models: labels\.txt, model\.json, weights\.bin/);
  const bundled = readdirSync(join(SOURCE_EXAMPLES, 'data')).filter((n) => n.endsWith('.png')).sort();
  const byImage = predictionsByImage(r.stdout);
  assert.deepEqual([...byImage.keys()], bundled.map((n) => join(SOURCE_EXAMPLES, 'data', n)));
  for (const [image, preds] of byImage) {
    assert.equal(preds.length, 5, `${image}: ${JSON.stringify(preds)}`);
    for (const p of preds) assert.match(p.label, LABEL);
    assert.equal(preds[0]!.label.slice(0, 'class-NN'.length), basename(image, '.png'), `top class of ${image}`);
    assert.ok(preds[0]!.score > 0.5, `confident on ${image}: ${preds[0]!.score}`);
    for (let k = 1; k < 5; k++) assert.ok(preds[k]!.score <= preds[k - 1]!.score, 'scores in descending order');
    assert.equal(new Set(preds.map((p) => p.label)).size, 5, 'five different classes');
  }
  // Again: the archive is extracted over the files of the first run, through the mount.
  const again = await runExample('classify', ['--model_dir', f.path('models')], { cwd: f.env.dir });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, r.stdout);
  // The extracted files went into Strata through the mount, beside the archive.
  const ls = await f.env.run(['fs', 'ls', '/training-data/models']);
  for (const name of ['labels.txt', 'model.json', 'weights.bin', 'strata-shapes.tgz']) assert.match(ls.stdout, new RegExp(`/training-data/models/${name.replace('.', '\\.')}$`, 'm'));
});

test('classify names what is missing: no archive in the folder, a folder that does not exist', async () => {
  await f.env.run(['fs', 'mkdir', '/training-data/empty']);
  const empty = await runExample('classify', ['--model_dir', f.path('empty')]);
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /holds no model archive \(\.tgz\) and no model\.json/);
  const missing = await runExample('classify', ['--model_dir', f.path('nowhere')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--model_dir .*nowhere does not exist/);
});
