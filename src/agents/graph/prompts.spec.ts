import { MAX_REVIEW_DIFF_CHARS, boundedDiff } from './prompts.js';

describe('boundedDiff', () => {
  it('keeps a diff within the bound as it is', () => {
    const diff = 'diff --git a/a b/a\n-x\n+y\n';
    expect(boundedDiff(diff)).toBe(diff);
    expect(boundedDiff('')).toBe('');
  });

  it('cuts a longer one at the bound and says how much was left out', () => {
    const diff = `diff --git a/a b/a\n${'+line\n'.repeat(MAX_REVIEW_DIFF_CHARS / 3)}`;
    const bounded = boundedDiff(diff);
    expect(bounded.startsWith(diff.slice(0, MAX_REVIEW_DIFF_CHARS))).toBe(true);
    expect(bounded.slice(MAX_REVIEW_DIFF_CHARS)).toBe(
      `\n[… ${diff.length - MAX_REVIEW_DIFF_CHARS} more characters of the diff left out; the changed files are given whole]`,
    );
  });
});
