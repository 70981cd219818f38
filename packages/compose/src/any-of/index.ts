export {
  AnyOf,
  type AnyOfDecision,
  type AnyOfOptions,
  type AnyOfPermit,
  type AnyOfStrategy,
  anyOf,
  SyncAnyOf,
  type SyncAnyOfPermit,
} from './any-of.js';
