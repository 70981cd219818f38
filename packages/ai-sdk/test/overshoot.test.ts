// The overshoot bound on ai@6; the suite (overshoot-suite.ts) is shared with ai@7.
import { overshootSuite } from './overshoot-suite.js';
import { ai6 } from './sdk-ai6.js';

overshootSuite(ai6);
