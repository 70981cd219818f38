export { checkGuard, guardInvariants } from './check-guard.js';
