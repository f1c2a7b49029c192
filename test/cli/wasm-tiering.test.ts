/**
 * Shell commands compile WebAssembly (undici's HTTP parser) without V8's optimizing tier, so
 * that they do not wait for it at exit; daemons keep it. Checked in real Node processes: after
 * the choice `main` makes for a command, a hot WebAssembly function is optimized, or not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const TIERING = fileURLToPath(new URL('../../src/cli/wasm-tiering.js', import.meta.url));

// (module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
const PROBE = `
import { chooseWasmCompile } from ${JSON.stringify(TIERING)};
chooseWasmCompile(JSON.parse(process.argv[1]));
const bytes = new Uint8Array([0,97,115,109,1,0,0,0,1,7,1,96,2,127,127,1,127,3,2,1,0,7,7,1,3,97,100,100,0,0,10,9,1,7,0,32,0,32,1,106,11]);
const { add } = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
for (let round = 0; round < 20 && !%IsTurboFanFunction(add); round++) {
  for (let i = 0; i < 1e6; i++) add(i, 1);
  await new Promise((r) => setTimeout(r, 50));
}
process.stdout.write(String(%IsTurboFanFunction(add)));
`;

function optimizedAfter(args: string[]): Promise<boolean> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', PROBE, JSON.stringify(args)], (err, stdout, stderr) => {
      if (err) return reject(new Error(`${err.message}\n${stderr}`));
      resolve(stdout.trim() === 'true');
    });
  });
}

for (const args of [['master'], ['worker', '--master', 'h:19998'], ['local', 'run'], ['fuse', 'mount', '-f', '/mnt/x', '/']]) {
  test(`strata ${args.join(' ')} (a daemon) keeps WebAssembly's optimizing compile`, async () => {
    assert.equal(await optimizedAfter(args), true);
  });
}

for (const args of [['fs', 'ls', '/'], ['local', 'start'], ['fuse', 'mount', '/mnt/x', '/'], ['--help']]) {
  test(`strata ${args.join(' ')} (a shell command) compiles WebAssembly once, unoptimized`, async () => {
    assert.equal(await optimizedAfter(args), false);
  });
}
