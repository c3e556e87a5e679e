/** Injection token of the shared ioredis client (commands only; subscribers make their own). */
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');
