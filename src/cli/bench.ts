/** strata bench: benchmarks, and the datasets they read. Each subcommand registers itself here. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { registerDatasetCommand } from './bench/dataset.js';
import { registerTrainInputCommand } from './bench/train-input.js';

export function registerBench(program: Command, ctx: () => CliContext): Command {
  const bench = program.command('bench').description('Benchmarks and the synthetic datasets they read');
  registerDatasetCommand(bench, ctx);
  registerTrainInputCommand(bench, ctx);
  return bench;
}
