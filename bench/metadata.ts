/**
 * What the master's metadata costs: a folder of N files in the root UFS (a local folder), listed
 * through the API as `strata fs ls` and the FUSE mount list it: once cold (the master loads the
 * entries from the UFS into its store), then warm, without and with block locations (what the
 * mount asks for), over HTTP and called in the master's process (a mount inside the worker of
 * `strata local`). The master runs in this process: the CPU column is the client's and the
 * master's together. Warm listings: median of 7, in entries per second.
 *   npm run build && node dist/bench/metadata.js [files]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSystem } from '../src/client/file-system.js';
import { Configuration } from '../src/common/config/configuration.js';
import { masterUrl } from '../src/common/rpc/client.js';
import { silentLogger } from '../src/common/logging.js';
import { MasterProcess } from '../src/master/master-process.js';
import { median, printTable, writeResults, type Row } from './report.js';

const FILES = Number(process.argv[2] ?? 20_000);
const WARM_ROUNDS = 7;

function timed(fn: () => Promise<unknown>): Promise<{ ms: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const t = performance.now();
  return fn().then(() => {
    const used = process.cpuUsage(cpu);
    return { ms: performance.now() - t, cpuMs: (used.user + used.system) / 1000 };
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'strata-bench-meta-'));
  const ufs = join(dir, 'ufs');
  mkdirSync(join(ufs, 'data'), { recursive: true });
  for (let i = 0; i < FILES; i++) writeFileSync(join(ufs, 'data', `img-${String(i).padStart(6, '0')}.png`), 'x');
  const conf = Configuration.load({ env: {}, confDir: join(dir, 'conf') }).with({
    'strata.work.dir': dir,
    'strata.master.mount.table.root.ufs': ufs,
    'strata.master.rpc.port': 0,
    'strata.master.web.port': 0,
  });
  const master = await MasterProcess.start(conf, silentLogger);
  const clientConf = conf.with({ 'strata.master.rpc.port': master.rpcPort });
  const fs = new FileSystem(clientConf);
  const inProcess = new FileSystem(clientConf, { inProcess: new Map([[masterUrl(clientConf), master.rpcServer]]) });
  try {
    const list = (blocks: boolean, client = fs) => async () => {
      const infos = await client.listStatus('/data', { blocks });
      if (infos.length !== FILES) throw new Error(`listed ${infos.length} of ${FILES} entries`);
    };
    const cold = await timed(list(false));
    type Run = { ms: number; cpuMs: number };
    const warm = { plain: [] as Run[], blocks: [] as Run[], inProcess: [] as Run[] };
    for (let i = 0; i < WARM_ROUNDS; i++) {
      warm.plain.push(await timed(list(false)));
      warm.blocks.push(await timed(list(true)));
      warm.inProcess.push(await timed(list(true, inProcess)));
    }
    const perS = (ms: number) => FILES / (ms / 1000);
    const row = (name: string, runs: Array<{ ms: number; cpuMs: number }>): Row => {
      const ms = median(runs.map((r) => r.ms));
      return { name, mbPerS: perS(ms), runs: runs.map((r) => perS(r.ms)), note: `${ms.toFixed(0)} ms, ${median(runs.map((r) => r.cpuMs)).toFixed(0)} ms CPU` };
    };
    const rows = [
      row('cold listing (loaded from the UFS)', [cold]),
      row('warm listing', warm.plain),
      row('warm listing with block locations', warm.blocks),
      row('the same, called in the process', warm.inProcess),
    ];
    printTable(`a folder of ${FILES} files listed through the master's API (entries/s in the MB/s column)`, rows, 'warm listing');
    console.log(`\nresults: ${writeResults('metadata', { files: FILES, warmRounds: WARM_ROUNDS, cold, warm, rows })}`);
  } finally {
    await fs.close();
    await inProcess.close();
    await master.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
