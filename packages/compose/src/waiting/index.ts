export type { AcquireOptions } from './waiter.js';
export { type WaitingOptions, waiting } from './waiter-queue.js';
export { WaitingGuard } from './waiting-guard.js';
