/** fs chmod, chown, chgrp. */
import type { Command } from 'commander';
import { StrataError } from '../../common/errors.js';
import type { CliContext } from '../context.js';
import { parseOctalMode } from '../format.js';

export function registerAttributes(fs: Command, ctx: () => CliContext): void {
  fs.command('chmod')
    .description('Change the mode of a path (octal, like 755)')
    .argument('<mode>')
    .argument('<path>')
    .option('-R', 'apply to everything below a folder')
    .action(async (modeText: string, path: string, o: { R?: boolean }) => {
      const mode = parseOctalMode(modeText);
      if (mode === undefined) throw new StrataError('INVALID_ARGUMENT', `Mode "${modeText}" is not octal like 755 or 0644`);
      const c = ctx();
      await c.fs.setAttribute(path, { mode, recursive: o.R });
      c.out(`Changed permission of ${path} to ${modeText}`);
    });

  fs.command('chown')
    .description('Change the owner (and group with owner:group) of a path')
    .argument('<owner>')
    .argument('<path>')
    .option('-R', 'apply to everything below a folder')
    .action(async (ownerSpec: string, path: string, o: { R?: boolean }) => {
      const [owner, group] = ownerSpec.split(':');
      if (!owner) throw new StrataError('INVALID_ARGUMENT', `Owner "${ownerSpec}" is empty`);
      const c = ctx();
      await c.fs.setAttribute(path, { owner, group: group || undefined, recursive: o.R });
      c.out(group ? `Changed owner:group of ${path} to ${owner}:${group}.` : `Changed owner of ${path} to ${owner}.`);
    });

  fs.command('chgrp')
    .description('Change the group of a path')
    .argument('<group>')
    .argument('<path>')
    .option('-R', 'apply to everything below a folder')
    .action(async (group: string, path: string, o: { R?: boolean }) => {
      const c = ctx();
      await c.fs.setAttribute(path, { group, recursive: o.R });
      c.out(`Changed group of ${path} to ${group}.`);
    });
}
