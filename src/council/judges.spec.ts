import { judgeDefinition, judgeModelOverride, judgeUserMessage, seatJudges } from './judges.js';

describe('judges', () => {
  it('gives each known judge its own system prompt and agent route', () => {
    const seats = seatJudges(['security', 'performance', 'maintainability', 'security']);
    expect(seats.map((s) => s.agent)).toEqual(['judge.security', 'judge.performance', 'judge.maintainability']);
    expect(new Set(seats.map((s) => s.systemPrompt)).size).toBe(3);
    expect(seats[0].systemPrompt).toContain('SECURITY');
    expect(seats[0].systemPrompt).toContain('submit_review');
  });

  it('seats a custom judge with a generic prompt and refuses bad names', () => {
    expect(judgeDefinition('accessibility').systemPrompt).toContain('ACCESSIBILITY');
    expect(() => judgeDefinition('a.b')).toThrow(RangeError);
  });

  it('resolves the per-task model override: judge.<name>, then judge', () => {
    const models = { judge: 'openai:gpt-4o', 'judge.security': 'anthropic:claude-sonnet-4' };
    expect(judgeModelOverride('security', models)).toBe('anthropic:claude-sonnet-4');
    expect(judgeModelOverride('performance', models)).toBe('openai:gpt-4o');
    expect(judgeModelOverride('performance', {})).toBeUndefined();
    expect(judgeModelOverride('performance', undefined)).toBeUndefined();
  });

  it('numbers the lines of the files and includes the test results', () => {
    const text = judgeUserMessage({
      mode: 'build',
      language: 'typescript',
      title: 'Add',
      description: 'add two numbers',
      files: [{ path: 'src/add.ts', content: 'export const add = (a, b) =>\n  a + b;' }],
      tests: { passed: 2, failed: 1, output: 'not ok 3' },
      iteration: 2,
    });
    expect(text).toContain('iteration 2');
    expect(text).toContain('# Tests: 2 passed, 1 failed');
    expect(text).toContain('   2|   a + b;');
    expect(text).not.toContain('# Change against the base commit');
  });

  it("adds a repository task's change as a diff after the files, and says when there is none", () => {
    const material = {
      mode: 'build' as const,
      language: 'javascript',
      title: 'Fix',
      description: 'fix it',
      files: [{ path: 'a.js', content: 'x = 2;' }],
      iteration: 1,
    };
    const diff = 'diff --git a/a.js b/a.js\n--- a/a.js\n+++ b/a.js\n@@ -1 +1 @@\n-x = 1;\n+x = 2;\n';
    const text = judgeUserMessage({ ...material, diff });
    expect(text.indexOf('## a.js')).toBeLessThan(text.indexOf('# Change against the base commit'));
    expect(text).toContain(`\`\`\`diff\n${diff}\n\`\`\``);
    expect(judgeUserMessage({ ...material, diff: '' })).toContain(
      '# Change against the base commit\n```diff\n(none)\n```',
    );
  });
});
