/** A progress bar on stderr while it is a terminal; nothing at all when output is piped or logged. */
import cliProgress from 'cli-progress';

export interface Progress {
  tick(n: number): void;
  stop(): void;
}

/** `scale` turns raw counts (bytes, items) into the unit shown, e.g. bytes to MB. */
export function progressBar(total: number, label: string, unit: string, scale: (n: number) => number = (n) => n): Progress {
  if (!process.stderr.isTTY || total === 0) return { tick() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {eta_formatted} left`, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let done = 0;
  bar.start(scale(total), 0);
  return {
    tick(n) {
      done += n;
      bar.update(scale(done));
    },
    stop() {
      bar.stop();
    },
  };
}
