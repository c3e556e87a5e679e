import { extractSubmitReview, parseSubmitReview, SUBMIT_REVIEW_TOOL } from './review-tool.js';

describe('submit_review parsing', () => {
  it('accepts a complete review and normalises case and empty optionals', () => {
    const r = parseSubmitReview({
      verdict: 'approve',
      summary: ' Looks fine. ',
      score: '7.5',
      issues: [
        { severity: 'WARNING', file: 'a.ts', line: '3', message: 'rename' },
        { severity: 'info', file: '', line: null, message: 'ok' },
      ],
    });
    expect(r).toEqual({
      ok: true,
      review: {
        verdict: 'APPROVE',
        summary: 'Looks fine.',
        score: 7.5,
        issues: [
          { severity: 'warning', file: 'a.ts', line: 3, message: 'rename' },
          { severity: 'info', message: 'ok' },
        ],
      },
    });
  });

  it.each([
    [{ verdict: 'MAYBE', summary: 's', issues: [] }, 'verdict'],
    [{ verdict: 'APPROVE', summary: '', issues: [] }, 'summary'],
    [{ verdict: 'APPROVE', summary: 's', score: 11, issues: [] }, 'score'],
    [{ verdict: 'APPROVE', summary: 's' }, 'issues'],
    [{ verdict: 'APPROVE', summary: 's', issues: [{ severity: 'blocker', message: 'x' }] }, 'issues.0.severity'],
    [{ verdict: 'APPROVE', summary: 's', issues: [{ severity: 'info', message: 'x', line: 0 }] }, 'issues.0.line'],
    [{ verdict: 'APPROVE', summary: 's', issues: [], extra: true }, 'arguments'],
    ['not an object', 'arguments'],
  ])('rejects %j naming %s', (args, field) => {
    const r = parseSubmitReview(args);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.startsWith(`${field}:`)).toBe(true);
  });

  it('requires exactly one submit_review call', () => {
    const call = (args: unknown) => ({ id: '1', name: 'submit_review', arguments: args as Record<string, unknown> });
    expect(extractSubmitReview([])).toEqual({ ok: false, error: 'no submit_review tool call' });
    expect(extractSubmitReview([{ id: '1', name: 'write_files', arguments: {} }]).ok).toBe(false);
    expect(
      extractSubmitReview([
        call({ verdict: 'APPROVE', summary: 's', issues: [] }),
        call({ verdict: 'APPROVE', summary: 's', issues: [] }),
      ]).ok,
    ).toBe(false);
    expect(extractSubmitReview([call({ verdict: 'REJECT', summary: 's', issues: [] })])).toMatchObject({
      ok: true,
      review: { verdict: 'REJECT' },
    });
  });

  it('publishes a JSON schema with the fixed field names', () => {
    expect(SUBMIT_REVIEW_TOOL.name).toBe('submit_review');
    expect(SUBMIT_REVIEW_TOOL.parameters).toMatchObject({ required: ['verdict', 'summary', 'issues'] });
  });
});
