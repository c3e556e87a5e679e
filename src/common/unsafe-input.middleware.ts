import type { NextFunction, Request, Response } from 'express';
import { type FieldError, ValidationFailedError } from './errors.js';

/** Deeper than any body this API takes (a task's config is 3 levels); class-transformer recurses per level. */
export const MAX_BODY_DEPTH = 32;

/**
 * Keys that name an object's prototype machinery. JSON.parse makes them plain own properties, which
 * class-transformer then drops without a word; the contract says unknown fields are refused, so
 * these are refused too (and never reach code that might merge them into an object).
 */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** PostgreSQL's text types cannot hold U+0000: such a string could only end as a 500. */
const hasNul = (value: string) => value.includes('\u0000');

function at(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent ? `${parent}.${key}` : key;
}

/**
 * The first problem in a parsed body or query, or undefined: a container nested deeper than
 * MAX_BODY_DEPTH, a prototype key, or a NUL character in a string (key or value). The walk stops at
 * MAX_BODY_DEPTH + 1, so its own recursion is bounded whatever was sent.
 */
export function findUnsafeInput(value: unknown, field = '', depth = 0): FieldError | undefined {
  if (typeof value === 'string') {
    return hasNul(value) ? { field: field || '(body)', message: 'must not contain NUL characters' } : undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  if (depth >= MAX_BODY_DEPTH) {
    return { field: field || '(body)', message: `is nested deeper than ${MAX_BODY_DEPTH} levels` };
  }
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      const problem = findUnsafeInput(value[index], at(field, index), depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) return { field: at(field, key), message: 'is not an accepted field' };
    if (hasNul(key))
      return { field: at(field, key.replaceAll('\u0000', '\\u0000')), message: 'must not contain NUL characters' };
    const problem = findUnsafeInput((value as Record<string, unknown>)[key], at(field, key), depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * Refuses a body or query that no route can take, before any guard, pipe or class-transformer sees
 * it: 400 VALIDATION_FAILED naming the field. Mounted right after the body parsers.
 */
export function refuseUnsafeInput(req: Request, _res: Response, next: NextFunction): void {
  const problem =
    findUnsafeInput(req.body) ??
    (req.url.includes('?') ? findUnsafeInput(req.query) : undefined) ??
    (req.url.includes('%00') ? findUnsafeInput(safeDecode(req.path), 'path') : undefined);
  next(problem ? new ValidationFailedError([problem]) : undefined);
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
