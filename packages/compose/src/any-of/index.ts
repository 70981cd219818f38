export { type AnyOfOptions, type AnyOfStrategy, anyOf } from './any-of.js';
export { AnyOf } from './async-any-of.js';
export type { AnyOfDecision } from './denial.js';
export type { AnyOfPermit, SyncAnyOfPermit } from './permits.js';
export { SyncAnyOf } from './sync-any-of.js';
