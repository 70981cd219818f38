export {
  Coordinator,
  coordinator,
  type Dimension,
  Dispatch,
  type DispatchState,
  type RunOptions,
  type RunResult,
  type SettleReport,
  type Usage,
} from './coordinator.js';
