/** strata conf get|list and strata fsadmin report. */
import type { Command } from 'commander';
import { canonicalKey, isKnownKey } from '../common/config/configuration.js';
import { StrataError } from '../common/errors.js';
import type { CliContext } from './context.js';
import { formatBytes } from './format.js';

export function registerAdmin(program: Command, ctx: () => CliContext): void {
  const conf = program.command('conf').description('Show configuration');
  conf
    .command('get')
    .description('Print the value of a property')
    .argument('<key>')
    .option('--source', 'also print where the value came from')
    .action((key: string, o: { source?: boolean }) => {
      const c = ctx();
      if (!isKnownKey(key)) throw new StrataError('INVALID_ARGUMENT', `Unknown property ${key}`);
      const value = c.conf.getOptional(key);
      if (value === undefined) throw new StrataError('NOT_FOUND', `${canonicalKey(key)} is not set`);
      c.out(o.source ? `${value} (${c.conf.source(key)})` : value);
    });
  conf
    .command('list')
    .description('Print every property with its value and source')
    .action(() => {
      const c = ctx();
      for (const e of c.conf.list()) c.out(`${e.key}=${e.value ?? ''} (${e.source ?? 'unset'})`);
    });

  const fsadmin = program.command('fsadmin').description('Cluster administration');
  fsadmin
    .command('report')
    .description('Capacity and use per tier, live and lost workers')
    .argument('[category]', 'summary or capacity', 'summary')
    .action(async () => {
      const c = ctx();
      const { tiers, workers } = await c.fs.capacity();
      const live = workers.filter((w) => w.state === 'LIVE');
      const lost = workers.filter((w) => w.state === 'LOST');
      const total = tiers.reduce((s, t) => s + t.capacityBytes, 0);
      const used = tiers.reduce((s, t) => s + t.usedBytes, 0);
      c.out('Strata cluster summary: ');
      c.out(`    Master Address: ${c.conf.get('strata.master.hostname')}:${c.conf.get('strata.master.rpc.port')}`);
      c.out(`    Web Port: ${c.conf.get('strata.master.web.port')}`);
      c.out(`    Live Workers: ${live.length}`);
      c.out(`    Lost Workers: ${lost.length}`);
      c.out(`    Total Capacity: ${formatBytes(total)}`);
      for (const t of tiers) c.out(`        Tier: ${t.alias}  Size: ${formatBytes(t.capacityBytes)}`);
      c.out(`    Used Capacity: ${formatBytes(used)}`);
      for (const t of tiers) c.out(`        Tier: ${t.alias}  Size: ${formatBytes(t.usedBytes)}`);
      c.out(`    Free Capacity: ${formatBytes(total - used)}`);
      c.out('');
      c.out(`${'Worker Name'.padEnd(24)}${'State'.padEnd(8)}${'Last Heartbeat'.padEnd(16)}${'Storage'.padEnd(10)}${'Total'.padEnd(12)}${'Used'.padEnd(12)}`);
      for (const w of workers) {
        const ago = `${Math.round((Date.now() - w.lastHeartbeatMs) / 1000)}s ago`;
        const wt = w.tiers.reduce((s, t) => s + t.capacityBytes, 0);
        const wu = w.tiers.reduce((s, t) => s + t.usedBytes, 0);
        c.out(`${`${w.address.host}:${w.address.rpcPort}`.padEnd(24)}${w.state.padEnd(8)}${ago.padEnd(16)}${'capacity'.padEnd(10)}${formatBytes(wt).padEnd(12)}${formatBytes(wu).padEnd(12)}`);
        for (const t of w.tiers) c.out(`${''.padEnd(48)}${t.alias.padEnd(10)}${formatBytes(t.capacityBytes).padEnd(12)}${formatBytes(t.usedBytes).padEnd(12)}`);
      }
    });
}
