export { type AllOfOptions, allOf } from './all-of.js';
export { AllOf, AllOfPermit } from './async-all-of.js';
export { SyncAllOf } from './sync-all-of.js';
export { SyncAllOfPermit } from './sync-permit.js';
