import os from 'node:os';

/** Where the figures were taken: printed above the table and stored in the JSON report. */
export interface MachineInfo {
  readonly node: string;
  readonly v8: string;
  readonly platform: string;
  readonly arch: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly date: string;
}

/** Reads the machine description from the running process. */
export function machineInfo(now: Date = new Date()): MachineInfo {
  const cpus = os.cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: os.platform(),
    arch: os.arch(),
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    date: now.toISOString(),
  };
}

/** One line for the top of the table. */
export function describeMachine(info: MachineInfo): string {
  return `Node ${info.node} (V8 ${info.v8}), ${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, ${info.platform}/${info.arch}, ${info.date}`;
}
