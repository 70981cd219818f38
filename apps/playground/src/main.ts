// The main job: an LLM gateway shared by several tenants on simulated time, drawn live on a
// terminal (a line per simulated minute otherwise), then a report and the conservation
// verdict. `--help` lists the options; the exit status says whether conservation held.
import { runCli } from './cli.js';

try {
  process.exitCode = await runCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
  });
} catch (error) {
  // A bug, not a usage error: still one line, and a status of its own.
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`budgetry playground: internal error: ${message}\n`);
  process.exitCode = 70;
}
