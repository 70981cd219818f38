export {
  AsyncTokenGuard,
  SyncTokenGuard,
  type SyncTokenPermit,
  type TokenPermit,
  tokenGuard,
} from './token-guard.js';
