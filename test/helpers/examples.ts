/** Runs the example programs (compiled into dist/examples/) as child processes, as a user would. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The compiled examples, next to this compiled helper (dist/test/helpers -> dist/examples). */
export const DIST_EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
/** The sources (examples/data, examples/*.py, examples/*.sh) in the repository. */
export const SOURCE_EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));

export interface ExampleResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `command args` with a time limit; resolves with its exit code and output, never rejects. */
export function runProgram(command: string, args: string[], opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ExampleResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(command, args, { cwd: opts.cwd, env: opts.env, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** `node dist/examples/<name>.js args`. */
export function runExample(name: string, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<ExampleResult> {
  return runProgram(process.execPath, [`${DIST_EXAMPLES}${name}.js`, ...args], opts);
}

export interface EpochLine {
  epoch: number;
  epochs: number;
  images: number;
  seconds: number;
  imagesPerSecond: number;
  loss: number;
  accuracy: number;
}

/** The "epoch E/N: I images in S s (R images/s), loss L, accuracy A" lines both training examples print. */
export function epochLines(stdout: string): EpochLine[] {
  const re = /^epoch (\d+)\/(\d+): (\d+) images in ([\d.]+) s \(([\d.]+) images\/s\), loss ([\d.]+), accuracy ([\d.]+)/gm;
  return [...stdout.matchAll(re)].map((m) => {
    const [epoch, epochs, images, seconds, imagesPerSecond, loss, accuracy] = m.slice(1).map(Number) as [number, number, number, number, number, number, number];
    return { epoch, epochs, images, seconds, imagesPerSecond, loss, accuracy };
  });
}

export interface Prediction {
  label: string;
  score: number;
}

/**
 * classify's output for several images: an "<image path>:" line, then "<label> (score = 0.xxxxx)"
 * lines. Throws on any line in neither form.
 */
export function predictionsByImage(stdout: string): Map<string, Prediction[]> {
  const out = new Map<string, Prediction[]>();
  let current: Prediction[] | undefined;
  for (const line of stdout.split('\n').filter(Boolean)) {
    const header = /^(\S+\.png):$/.exec(line);
    const prediction = /^(.+) \(score = (\d\.\d{5})\)$/.exec(line);
    if (header) out.set(header[1]!, (current = []));
    else if (prediction && current) current.push({ label: prediction[1]!, score: Number(prediction[2]) });
    else throw new Error(`Not a line of classify's output: ${JSON.stringify(line)}`);
  }
  return out;
}
