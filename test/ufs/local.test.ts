/** The UFS conformance suite on the local-folder connector. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { LocalUnderFileSystem } from '../../src/ufs/local.js';
import { ufsConformanceSuite } from './conformance.js';

ufsConformanceSuite(async () => {
  const root = mkdtempSync(join(tmpdir(), 'strata-ufs-local-'));
  let n = 0;
  return {
    ufs: new LocalUnderFileSystem(),
    partSize: 64 << 10,
    async freshFolder() {
      const dir = join(root, `t${n++}`);
      mkdirSync(dir);
      return dir;
    },
    async putDirect(uri, data) {
      mkdirSync(dirname(uri), { recursive: true });
      writeFileSync(uri, data);
    },
    async close() {
      rmSync(root, { recursive: true, force: true });
    },
  };
});
