export {
  AllOf,
  type AllOfOptions,
  AllOfPermit,
  allOf,
  SyncAllOf,
  SyncAllOfPermit,
} from './all-of.js';
