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
  });
});
