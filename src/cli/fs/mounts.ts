/** fs mount and unmount. Credentials given here stay with the mount; listings hide them. */
import type { Command } from 'commander';
import { StrataError } from '../../common/errors.js';
import type { CliContext } from '../context.js';
import { collect, parseKeyValues } from '../options.js';

export function registerMounts(fs: Command, ctx: () => CliContext): void {
  fs.command('mount')
    .description('Mount a UFS folder into Strata, or list mounts with no arguments')
    .argument('[path]', 'Strata path to mount at')
    .argument('[ufsUri]', 'UFS folder: /local/dir, file:///dir, s3://bucket/prefix')
    .option('--readonly', 'refuse writes under the mount')
    .option('--shared', 'visible to all users')
    .option('--option <key=value>', 'a UFS option such as aws.accessKeyID=... (repeatable)', collect, [])
    .action(async (path: string | undefined, ufsUri: string | undefined, o: { readonly?: boolean; shared?: boolean; option: string[] }) => {
      const c = ctx();
      if (!path) {
        for (const m of await c.fs.getMountTable()) {
          const scheme = m.ufsUri.startsWith('/') ? 'local' : m.ufsUri.split(':')[0];
          const props = Object.entries(m.options).map(([k, v]) => `${k}=${v}`).join(', ');
          c.out(`${m.ufsUri}  on  ${m.path}  (${scheme}, ${m.readOnly ? 'read-only' : 'not read-only'}, ${m.shared ? 'shared' : 'not shared'}, properties={${props}})`);
        }
        return;
      }
      if (!ufsUri) throw new StrataError('INVALID_ARGUMENT', 'fs mount needs both a Strata path and a UFS address');
      const options = parseKeyValues(o.option, '--option');
      await c.fs.mount(path, ufsUri, { readOnly: o.readonly, shared: o.shared, options });
      c.out(`Mounted ${ufsUri} at ${path}`);
    });

  fs.command('unmount')
    .alias('umount')
    .description('Remove a mount (the UFS is left as it is)')
    .argument('<path>')
    .action(async (path: string) => {
      const c = ctx();
      await c.fs.unmount(path);
      c.out(`Unmounted ${path}`);
    });
}
