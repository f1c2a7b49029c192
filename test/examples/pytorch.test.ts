/**
 * The PyTorch example with Debian's python3-torch on a real local cluster and FUSE mount: an
 * ImageFolder copied into Strata, read by a DataLoader with two worker processes through the
 * mount, a checkpoint written through the mount that Strata lists and torch loads back.
 * Skipped only when STRATA_TEST_NO_TORCH=1; without PyTorch it fails, naming what to install.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { generateDataset, localSink } from '../../src/datasets/generate.js';
import { FuseEnv } from '../helpers/fuse.js';
import { epochLines, runProgram, SOURCE_EXAMPLES } from '../helpers/examples.js';

const PYTHON = '/usr/bin/python3';
const skip = process.env.STRATA_TEST_NO_TORCH === '1' ? 'STRATA_TEST_NO_TORCH=1' : false;

let f: FuseEnv | undefined;
before(async () => {
  if (skip) return;
  const probe = await runProgram(PYTHON, ['-c', 'import torch, torchvision']);
  assert.equal(probe.code, 0, `PyTorch is needed: apt-get install python3-torch python3-torchvision python3-pil (or set STRATA_TEST_NO_TORCH=1)\n${probe.stderr}`);
  f = await FuseEnv.create({ props: { 'strata.user.file.writetype.default': 'MUST_CACHE' } });
  const local = join(f.env.dir, 'shapes');
  await generateDataset({ format: 'imagefolder', count: 96, imageBytes: 2048, classes: 4 }, localSink(local));
  const copy = await f.env.run(['fs', 'copyFromLocal', local, '/datasets/shapes']);
  assert.equal(copy.code, 0, copy.stderr);
});
after(async () => {
  await f?.cleanup();
});

test('pytorch_train.py: ImageFolder and DataLoader(num_workers=2) through the mount, learns, checkpoint on the mount', { skip }, async () => {
  const fe = f!;
  const r = await runProgram(PYTHON, [join(SOURCE_EXAMPLES, 'pytorch_train.py'), '--data_dir', fe.path('datasets/shapes'), '--epochs', '3', '--checkpoint', fe.path('checkpoints/shapes.pt')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Training on .*datasets\/shapes\/train: 96 images, 4 classes, 2 loader workers, batches of 16$/m);
  const epochs = epochLines(r.stdout);
  assert.deepEqual(epochs.map((e) => [e.epoch, e.images]), [[1, 96], [2, 96], [3, 96]]);
  assert.ok(epochs[2]!.loss < epochs[0]!.loss, `loss falls: ${epochs.map((e) => e.loss)}`);
  assert.ok(epochs[2]!.accuracy > 0.5, `above chance (0.25): ${epochs[2]!.accuracy}`);

  const ls = await fe.env.run(['fs', 'ls', '/checkpoints']);
  assert.match(ls.stdout, /\s[1-9]\d* .* \/checkpoints\/shapes\.pt$/m);
  const load = await runProgram(PYTHON, ['-c', `import torch; c = torch.load(${JSON.stringify(fe.path('checkpoints/shapes.pt'))}); print(c["epoch"], c["classes"])`]);
  assert.equal(load.code, 0, load.stderr);
  assert.equal(load.stdout.trim(), "3 ['class-00', 'class-01', 'class-02', 'class-03']");
});

test('pytorch_train.py refuses bad input with exit code 2', { skip }, async () => {
  const script = join(SOURCE_EXAMPLES, 'pytorch_train.py');
  const missing = await runProgram(PYTHON, [script, '--data_dir', f!.path('nowhere')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--data_dir .*nowhere does not exist/);
  const oneWorker = await runProgram(PYTHON, [script, '--data_dir', f!.path('datasets/shapes'), '--num_workers', '1']);
  assert.equal(oneWorker.code, 2);
  assert.match(oneWorker.stderr, /--num_workers must be at least 2/);
});
