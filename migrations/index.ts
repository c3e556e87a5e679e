import { Init1763800000000 } from './1763800000000-Init.js';
import { LlmUsageAndBudgets1763802000000 } from './1763802000000-LlmUsageAndBudgets.js';

/** Every migration, in order. A new migration file is added here as well. */
export const MIGRATIONS = [Init1763800000000, LlmUsageAndBudgets1763802000000];
