/**
 * README's first command line: examples/seed-walk.sh on its own cluster (its configuration
 * folder), end to end: local start, the model archive copied in, the FUSE mount, classify on the
 * mount; and afterwards nothing left mounted or running.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CliEnv } from '../helpers/cli.js';
import { predictionsByImage, runProgram, SOURCE_EXAMPLES } from '../helpers/examples.js';

let env: CliEnv;
const mounts = () => readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(`${env.dir}/`));
before(async () => {
  env = await CliEnv.create();
});
after(async () => {
  for (const m of env ? mounts() : []) await new Promise((r) => execFile('umount', ['-l', m], r));
  await env?.run(['local', 'stop']);
  await env?.cleanup();
});

test('examples/seed-walk.sh: the seed scenario end to end, then unmounted and stopped', async () => {
  const mnt = join(env.dir, 'mnt');
  const r = await runProgram(join(SOURCE_EXAMPLES, 'seed-walk.sh'), [mnt], { env: { ...process.env, STRATA_CONF_DIR: env.confDir }, timeoutMs: 180_000 });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const out = r.stdout;
  assert.match(out, /^Started Strata master and worker/m);
  assert.match(out, /^Successfully created directory \/training-data$/m);
  assert.match(out, /^Copied file:\/\/.*strata-shapes\.tgz to \/training-data\/models\/strata-shapes\.tgz$/m);
  assert.match(out, /\s\d+\s+NOT_PERSISTED .* 100% \/training-data\/models\/strata-shapes\.tgz$/m);
  assert.match(out, /\s\d+\s+PERSISTED .* 100% \/training-data\/persisted\/strata-shapes\.tgz$/m);
  assert.match(out, /\s\d+\s+PERSISTED .*\s0% \/training-data\/imagenet\/train-00000-of-00001\.tfrecord$/m, 'before it is read');
  assert.match(out, /\s\d+\s+PERSISTED .* 100% \/training-data\/imagenet\/train-00000-of-00001\.tfrecord$/m, 'after fs cat');
  assert.match(out, new RegExp(`^\\d+\\t${mnt}\\t/training-data$`, 'm'), 'fuse stat');
  // classify's lines, with the bundled images named relative to the repository root.
  const classify = out.split('\n').filter((l) => /^examples\/data\/\S+\.png:$/.test(l) || / \(score = \d\.\d{5}\)$/.test(l));
  const byImage = predictionsByImage(classify.join('\n'));
  assert.equal(byImage.size, 6);
  for (const [image, preds] of byImage) {
    assert.equal(preds.length, 5, image);
    assert.ok(preds[0]!.label.startsWith(`${basename(image, '.png')},`), `${image}: ${preds[0]!.label}`);
  }
  assert.match(out, /\/training-data\/models\/model\.json$/m, 'extracted through the mount into Strata');
  assert.deepEqual(mounts(), [], 'unmounted on exit');
  const down = await env.run(['fs', 'ls', '/']);
  assert.equal(down.code, 9, 'the cluster it started is stopped');
});
