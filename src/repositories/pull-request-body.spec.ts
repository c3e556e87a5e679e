import { pullRequestTitle, renderPullRequestBody } from './pull-request-body.js';

describe('renderPullRequestBody', () => {
  const content = {
    taskId: 't-1',
    runId: 'r-1',
    title: 'Fix   the\nparser',
    description: 'The parser drops the last token.',
    plan: {
      summary: 'Fix the loop bound.',
      steps: [{ title: 'Fix bound', detail: 'use <=', files: ['src/parser.ts'] }],
    },
    tests: { passed: 3, failed: 0, output: 'ok 1\nok 2\nok 3' },
    review: {
      verdict: 'APPROVE',
      summary: 'Looks right.',
      score: 9,
      issues: [{ severity: 'info', file: 'src/parser.ts', line: 3, message: 'naming' }],
    },
    council: { verdict: 'APPROVE', judges: [{ judge: 'security', verdict: 'APPROVE', summary: 'No concerns.' }] },
  };

  it('reports the plan, the tests and the verdicts', () => {
    const body = renderPullRequestBody(content);
    expect(body).toContain('## Task\n\nThe parser drops the last token.');
    expect(body).toContain('## Plan\n\nFix the loop bound.\n\n1. **Fix bound** (`src/parser.ts`): use <=');
    expect(body).toContain('✅ 3 passed, 0 failed');
    expect(body).toContain('## Review: APPROVE (score 9/10)');
    expect(body).toContain('- **info** `src/parser.ts:3`: naming');
    expect(body).toContain('## Council: APPROVE\n\n- **security**: APPROVE: No concerns.');
    expect(body).toContain('task `t-1` (run `r-1`)');
    expect(pullRequestTitle(content)).toBe('Fix the parser');
  });

  it('leaves out what the run did not produce and stays under GitHub’s limit', () => {
    const body = renderPullRequestBody({
      taskId: 't',
      runId: 'r',
      title: 'x',
      tests: { passed: 0, failed: 2, output: 'x'.repeat(100_000) },
    });
    expect(body).not.toContain('## Plan');
    expect(body).not.toContain('## Review');
    expect(body).toContain('❌ 0 passed, 2 failed');
    expect(body.length).toBeLessThan(65_536);
    expect(
      renderPullRequestBody({ taskId: 't', runId: 'r', title: 'x', description: 'y'.repeat(70_000) }).length,
    ).toBeLessThan(65_536);
  });
});
