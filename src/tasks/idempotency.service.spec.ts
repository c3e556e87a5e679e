import { stableJson } from './idempotency.service.js';

describe('stableJson', () => {
  it('ignores key order and undefined fields, keeps array order', () => {
    expect(stableJson({ b: 1, a: { d: [2, 1], c: undefined } })).toBe(stableJson({ a: { d: [2, 1] }, b: 1 }));
    expect(stableJson({ a: [1, 2] })).not.toBe(stableJson({ a: [2, 1] }));
    expect(stableJson(undefined)).toBe('null');
  });
});
