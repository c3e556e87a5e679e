/**
 * NestJS 12 is ESM; several Nest libraries (@nestjs/throttler, @nestjs/passport, …) are CommonJS
 * and require() it. Jest refuses a require(esm) that lands while the ESM graph is still being
 * evaluated (jestjs/jest#16366), so these are evaluated first, once per test file.
 */
await import('reflect-metadata');
await import('@nestjs/common');
await import('@nestjs/core');
await import('@nestjs/platform-express');
await import('@nestjs/testing');
