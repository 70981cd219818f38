export { Coordinator, coordinator } from './coordinator.js';
export { Dispatch } from './dispatch.js';
export type {
  Dimension,
  DispatchState,
  RunOptions,
  RunResult,
  SettleReport,
  Usage,
} from './types.js';
