import { Init1763800000000 } from './1763800000000-Init.js';
import { Auth1763801000000 } from './1763801000000-Auth.js';
import { Repositories1763806000000 } from './1763806000000-Repositories.js';

/** Every migration, in order. A new migration file is added here as well. */
export const MIGRATIONS = [Init1763800000000, Auth1763801000000, Repositories1763806000000];
