export {
  type AcquireOptions,
  WaitingGuard,
  type WaitingOptions,
  waiting,
} from './waiter-queue.js';
