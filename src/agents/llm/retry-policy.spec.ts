import { parseRetryAfter } from './llm.errors.js';
import { retryDelayMs } from './retry-policy.js';

describe('retry policy', () => {
  it('grows exponentially with full jitter, capped', () => {
    const policy = { baseMs: 100, maxMs: 1000 };
    expect(retryDelayMs(0, policy, undefined, () => 0.999)).toBe(99);
    expect(retryDelayMs(3, policy, undefined, () => 0.5)).toBe(400);
    expect(retryDelayMs(10, policy, undefined, () => 0.999)).toBe(999);
    expect(retryDelayMs(2, policy, undefined, () => 0)).toBe(0);
  });

  it('never waits less than retry-after', () => {
    expect(retryDelayMs(0, { baseMs: 100, maxMs: 1000 }, 2000, () => 0.5)).toBe(2000);
  });

  it('reads retry-after as seconds, HTTP date or retry-after-ms', () => {
    const h = (v: Record<string, string>) => (name: string) => v[name];
    expect(parseRetryAfter(h({ 'retry-after': '2' }))).toBe(2000);
    expect(parseRetryAfter(h({ 'retry-after-ms': '150', 'retry-after': '9' }))).toBe(150);
    const date = new Date(Date.now() + 3000).toUTCString();
    expect(parseRetryAfter(h({ 'retry-after': date }))).toBeGreaterThan(1000);
    expect(parseRetryAfter(h({}))).toBeUndefined();
  });
});
