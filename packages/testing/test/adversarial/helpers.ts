// Shared helpers for the adversarial experiments: run a check over seeds, count catches.
import { AdapterError, ConformanceError } from '../../src/index.js';

export interface Outcome {
  caught: number;
  seeds: number;
  messages: string[];
  adapter: string[];
  other: string[];
  ms: number;
}

/** Runs `run(seed)` on each seed; classifies what it throws. */
export async function measure(
  run: (seed: number) => Promise<void>,
  seeds: readonly number[] = [11, 22, 33, 44, 55, 66, 77, 88, 99, 111],
): Promise<Outcome> {
  const out: Outcome = {
    caught: 0,
    seeds: seeds.length,
    messages: [],
    adapter: [],
    other: [],
    ms: 0,
  };
  const t0 = Date.now();
  for (const seed of seeds) {
    try {
      await run(seed);
    } catch (error) {
      if (ConformanceError.isInstance(error)) {
        out.caught++;
        out.messages.push(error.message);
      } else if (AdapterError.isInstance(error)) {
        out.adapter.push((error as Error).message);
      } else {
        out.other.push(String((error as Error)?.stack ?? error));
      }
    }
  }
  out.ms = Date.now() - t0;
  return out;
}

export function report(name: string, o: Outcome): void {
  // biome-ignore lint/suspicious/noConsole: experiment output
  console.log(
    `[${name}] caught ${o.caught}/${o.seeds} in ${o.ms} ms; adapter ${o.adapter.length}; other ${o.other.length}` +
      (o.messages[0] ? `\n  first: ${o.messages[0].split('\n').slice(0, 12).join('\n  ')}` : '') +
      (o.adapter[0] ? `\n  adapter: ${o.adapter[0].split('\n').slice(0, 8).join('\n  ')}` : '') +
      (o.other[0] ? `\n  other: ${o.other[0].split('\n').slice(0, 8).join('\n  ')}` : ''),
  );
}

/** Options for catch-rate runs: defaults, except no env replay and a short shrink. */
export const base = (seed: number) => ({ seed, replayFromEnv: false, shrinkTimeMs: 200 });
