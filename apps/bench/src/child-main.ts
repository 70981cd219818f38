/*
 * Entry of one child process of an isolated run (see run-isolated.ts): measures the rows the
 * parent names, in interleaved rounds as `runRows` always does, and sends the raw figures
 * back over the IPC channel. Ratios and verdicts are the parent's job.
 */
import {
  type ChildMessage,
  parseChildRequest,
  rowsForRequest,
  toRawMeasurement,
} from './child-protocol.js';
import { allRows } from './rows/index.js';
import { runRows } from './runner.js';
import { sinkTotal } from './sink.js';

function post(message: ChildMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    process.send!(message, undefined, {}, (error) => (error ? reject(error) : resolve()));
  });
}

async function main(): Promise<number> {
  if (process.send === undefined) {
    console.error('bench child: started without an IPC channel; run `pnpm bench` instead');
    return 2;
  }
  const request = parseChildRequest(process.argv[2]);
  const rows = rowsForRequest(allRows, request.ids);
  const measurements = await runRows(rows, request.settings, (message) => {
    void post({ type: 'progress', message });
  });
  await post({ type: 'done', measurements: measurements.map(toRawMeasurement), sink: sinkTotal() });
  return 0;
}

main().then(
  // Exit at once: a row that left a timer behind must not keep the child, and the run, alive.
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
