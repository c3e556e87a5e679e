import type { TestFailure } from '../sandbox.types.js';

export interface ParsedTests {
  passed: number;
  failed: number;
  skipped: number;
  failures: TestFailure[];
}

export const MAX_FAILURES = 50;
export const MAX_FAILURE_MESSAGE = 4000;

export function clip(text: string, max = MAX_FAILURE_MESSAGE): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
