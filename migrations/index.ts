import { Init1763800000000 } from './1763800000000-Init.js';
import { Webhooks1763804000000 } from './1763804000000-Webhooks.js';

/** Every migration, in order. A new migration file is added here as well. */
export const MIGRATIONS = [Init1763800000000, Webhooks1763804000000];
