/** The `strata` command. */
import { Command, CommanderError } from 'commander';
import { CliContext, extractConfArgs, reportError } from './context.js';
import { registerAdmin } from './admin.js';
import { registerBench } from './bench.js';
import { registerDaemons } from './daemons.js';
import { registerFuse } from './fuse.js';
import { registerAttributes } from './fs/attributes.js';
import { registerCache } from './fs/cache.js';
import { registerFiles } from './fs/files.js';
import { registerListing } from './fs/listing.js';
import { registerMounts } from './fs/mounts.js';
import { registerTransfer } from './fs/transfer.js';
import { chooseWasmCompile } from './wasm-tiering.js';

export async function main(argv: string[]): Promise<number> {
  let context: CliContext | undefined;
  try {
    const { rest, conf } = extractConfArgs(argv);
    chooseWasmCompile(rest);
    context = new CliContext(conf);
    const ctx = () => context!;
    const program = new Command('strata')
      .description('Strata: a data caching layer for machine-learning training')
      .option('--conf <key=value>', 'set a property for this command (repeatable, any command)')
      .exitOverride()
      .showHelpAfterError(false)
      .configureOutput({ writeErr: (s) => process.stderr.write(s) });
    const fs = program.command('fs').description('Alluxio-compatible file system shell').exitOverride();
    registerListing(fs, ctx);
    registerFiles(fs, ctx);
    registerTransfer(fs, ctx);
    registerCache(fs, ctx);
    registerAttributes(fs, ctx);
    registerMounts(fs, ctx);
    for (const cmd of fs.commands) cmd.exitOverride();
    registerAdmin(program, ctx);
    registerDaemons(program, ctx);
    registerFuse(program, ctx);
    registerBench(program, ctx);
    const exitOverrideAll = (c: Command) => {
      c.exitOverride();
      c.commands.forEach(exitOverrideAll);
    };
    exitOverrideAll(program);
    await program.parseAsync(rest, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; usage errors (unknown option, missing argument) exit 2.
      return err.exitCode === 0 ? 0 : 2;
    }
    return reportError(err);
  } finally {
    await context?.close();
  }
}
