export { AsyncTokenGuard, SyncTokenGuard, tokenGuard } from './token-guard.js';
export type { SyncTokenPermit, TokenPermit } from './token-permit.js';
