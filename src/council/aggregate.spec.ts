import type { JudgeVerdict, ReviewIssue, Verdict } from '#src/agents/graph/review.port.js';
import {
  DEFAULT_AGGREGATION,
  aggregate,
  councilScore,
  mergeIssues,
  normalizeMessage,
  scoreFromIssues,
  testsPass,
} from './aggregate.js';

function judge(name: string, verdict: Verdict, issues: ReviewIssue[] = [], score?: number): JudgeVerdict {
  return {
    judge: name,
    status: 'completed',
    verdict,
    summary: `${name} says ${verdict}`,
    issues,
    ...(score !== undefined ? { score } : {}),
  };
}
const failed = (name: string): JudgeVerdict => ({
  judge: name,
  status: 'failed',
  summary: 'failed',
  issues: [],
  error: 'HTTP 500',
});
const passing = { passed: 3, failed: 0 };

describe('aggregate', () => {
  it('approves unanimously with no dissent', () => {
    const r = aggregate(
      [judge('security', 'APPROVE'), judge('performance', 'APPROVE'), judge('maintainability', 'APPROVE')],
      DEFAULT_AGGREGATION,
      passing,
    );
    expect(r).toMatchObject({
      verdict: 'APPROVE',
      reason: 'MAJORITY',
      votes: { APPROVE: 3, REVISE: 0, REJECT: 0 },
      dissent: [],
    });
  });

  it('approves 2-1 and keeps the dissenting judge visible', () => {
    const r = aggregate(
      [judge('security', 'APPROVE'), judge('performance', 'REVISE'), judge('maintainability', 'APPROVE')],
      DEFAULT_AGGREGATION,
      passing,
    );
    expect(r.verdict).toBe('APPROVE');
    expect(r.dissent).toEqual([{ judge: 'performance', verdict: 'REVISE' }]);
    expect(r.summary).toContain('Dissent: performance REVISE');
  });

  it('lets a critical security finding veto two approvals', () => {
    const r = aggregate(
      [
        judge('security', 'APPROVE', [{ severity: 'critical', file: 'a.ts', line: 3, message: 'SQL injection' }]),
        judge('performance', 'APPROVE'),
        judge('maintainability', 'APPROVE'),
      ],
      DEFAULT_AGGREGATION,
      passing,
    );
    expect(r).toMatchObject({ verdict: 'REVISE', reason: 'VETO', vetoedBy: 'security' });
    expect(r.dissent.map((d) => d.judge).sort()).toEqual(['maintainability', 'performance', 'security']);
  });

  it('lets a security REJECT veto; a critical finding from a non-veto judge does not', () => {
    expect(
      aggregate(
        [judge('security', 'REJECT'), judge('performance', 'APPROVE'), judge('maintainability', 'APPROVE')],
        DEFAULT_AGGREGATION,
        passing,
      ),
    ).toMatchObject({
      verdict: 'REVISE',
      reason: 'VETO',
    });
    const r = aggregate(
      [
        judge('security', 'APPROVE'),
        judge('performance', 'REVISE', [{ severity: 'critical', message: 'O(n^3)' }]),
        judge('maintainability', 'APPROVE'),
      ],
      DEFAULT_AGGREGATION,
      passing,
    );
    expect(r).toMatchObject({ verdict: 'APPROVE', reason: 'MAJORITY' });
  });

  it('honours the configured veto verdict and veto judges', () => {
    const options = { ...DEFAULT_AGGREGATION, vetoVerdict: 'REJECT' as const, vetoJudges: ['performance'] };
    expect(
      aggregate(
        [judge('security', 'REJECT'), judge('performance', 'APPROVE'), judge('maintainability', 'APPROVE')],
        options,
        passing,
      ).verdict,
    ).toBe('APPROVE');
    expect(
      aggregate(
        [judge('security', 'APPROVE'), judge('performance', 'REJECT'), judge('maintainability', 'APPROVE')],
        options,
        passing,
      ),
    ).toMatchObject({
      verdict: 'REJECT',
      reason: 'VETO',
      vetoedBy: 'performance',
    });
  });

  it('turns ties and three-way splits into the tie verdict', () => {
    expect(
      aggregate(
        [judge('security', 'APPROVE'), judge('performance', 'REVISE'), judge('maintainability', 'REJECT')],
        DEFAULT_AGGREGATION,
        passing,
      ),
    ).toMatchObject({
      verdict: 'REVISE',
      reason: 'TIE',
    });
    expect(
      aggregate(
        [judge('security', 'APPROVE'), judge('performance', 'REJECT')],
        { ...DEFAULT_AGGREGATION, tieVerdict: 'REJECT' },
        passing,
      ),
    ).toMatchObject({
      verdict: 'REJECT',
      reason: 'TIE',
    });
  });

  it('excludes failed judges from the vote but lists them', () => {
    const r = aggregate(
      [failed('security'), judge('performance', 'APPROVE'), judge('maintainability', 'APPROVE')],
      DEFAULT_AGGREGATION,
      passing,
    );
    expect(r).toMatchObject({ verdict: 'APPROVE', votes: { APPROVE: 2, REVISE: 0, REJECT: 0 } });
    expect(r.summary).toContain('Not voting: security failed');
    expect(
      aggregate(
        [failed('security'), judge('performance', 'APPROVE'), judge('maintainability', 'REVISE')],
        DEFAULT_AGGREGATION,
        passing,
      ).reason,
    ).toBe('TIE');
  });

  it('requires passing tests for APPROVE', () => {
    const judges = [judge('security', 'APPROVE'), judge('performance', 'APPROVE')];
    expect(aggregate(judges, DEFAULT_AGGREGATION, { passed: 2, failed: 1 })).toMatchObject({
      verdict: 'REVISE',
      reason: 'TESTS_FAILING',
    });
    expect(aggregate(judges, DEFAULT_AGGREGATION, { passed: 0, failed: 0 }).verdict).toBe('REVISE');
    expect(
      aggregate(judges, { ...DEFAULT_AGGREGATION, requirePassingTests: false }, { passed: 2, failed: 1 }).verdict,
    ).toBe('APPROVE');
    expect(aggregate(judges, DEFAULT_AGGREGATION, undefined).verdict).toBe('APPROVE');
  });

  it('has no decision without a quorum', () => {
    expect(aggregate([failed('security'), failed('performance')], DEFAULT_AGGREGATION, passing)).toMatchObject({
      verdict: null,
      reason: 'NO_QUORUM',
      dissent: [],
    });
    expect(
      aggregate(
        [judge('security', 'APPROVE'), failed('performance')],
        { ...DEFAULT_AGGREGATION, minJudges: 2 },
        passing,
      ).reason,
    ).toBe('NO_QUORUM');
  });

  it('treats tests as passing only with no failures and at least one pass', () => {
    expect(testsPass(undefined)).toBe(true);
    expect(testsPass({ passed: 1, failed: 0 })).toBe(true);
    expect(testsPass({ passed: 0, failed: 0 })).toBe(false);
    expect(testsPass({ passed: 4, failed: 1 })).toBe(false);
  });
});

describe('mergeIssues', () => {
  it('merges same file+line+similar text into one issue listing both judges, keeping the worst severity', () => {
    const merged = mergeIssues([
      {
        judge: 'security',
        issues: [
          {
            severity: 'warning',
            file: './src/db.ts',
            line: 12,
            message: 'User input is concatenated into the SQL query.',
          },
        ],
      },
      {
        judge: 'maintainability',
        issues: [
          { severity: 'critical', file: 'src/db.ts', line: 12, message: 'user input concatenated into SQL query' },
        ],
      },
    ]);
    expect(merged).toHaveLength(1);
    expect(merged[0]).toMatchObject({
      severity: 'critical',
      file: 'src/db.ts',
      line: 12,
      judges: ['security', 'maintainability'],
      judge: 'security',
    });
  });

  it('keeps different lines or different messages apart and sorts most severe first', () => {
    const merged = mergeIssues([
      {
        judge: 'performance',
        issues: [
          { severity: 'info', file: 'a.ts', line: 1, message: 'Consider caching the result' },
          { severity: 'warning', file: 'a.ts', line: 2, message: 'Consider caching the result' },
        ],
      },
      {
        judge: 'security',
        issues: [{ severity: 'critical', file: 'b.ts', line: 9, message: 'Shell injection through exec' }],
      },
      {
        judge: 'maintainability',
        issues: [{ severity: 'warning', file: 'a.ts', line: 2, message: 'Rename the variable x' }],
      },
    ]);
    expect(merged.map((i) => [i.severity, i.file, i.line, i.message])).toEqual([
      ['critical', 'b.ts', 9, 'Shell injection through exec'],
      ['warning', 'a.ts', 2, 'Consider caching the result'],
      ['warning', 'a.ts', 2, 'Rename the variable x'],
      ['info', 'a.ts', 1, 'Consider caching the result'],
    ]);
  });

  it('ranks issues more judges agree on first within a severity', () => {
    const merged = mergeIssues([
      { judge: 'a', issues: [{ severity: 'warning', message: 'Lonely remark about naming' }] },
      { judge: 'b', issues: [{ severity: 'warning', message: 'Missing input validation' }] },
      { judge: 'c', issues: [{ severity: 'warning', message: 'missing input validation!' }] },
    ]);
    expect(merged[0]).toMatchObject({ message: 'Missing input validation', judges: ['b', 'c'] });
  });

  it('normalises punctuation, case and whitespace', () => {
    expect(normalizeMessage('  Use `crypto.randomUUID()`,  NOT Math.random! ')).toBe(
      'use crypto randomuuid not math random',
    );
  });
});

describe('scores', () => {
  it('derives a score from severities when the judge gives none', () => {
    expect(scoreFromIssues([])).toBe(10);
    expect(
      scoreFromIssues([
        { severity: 'critical', message: 'x' },
        { severity: 'warning', message: 'y' },
        { severity: 'info', message: 'z' },
      ]),
    ).toBe(4.3);
    expect(scoreFromIssues(Array.from({ length: 4 }, () => ({ severity: 'critical' as const, message: 'x' })))).toBe(0);
  });

  it('averages given and derived scores of completed judges only', () => {
    expect(
      councilScore([
        judge('a', 'APPROVE', [], 8),
        judge('b', 'REVISE', [{ severity: 'warning', message: 'w' }]),
        failed('c'),
      ]),
    ).toBe(8.3);
    expect(councilScore([failed('c')])).toBeUndefined();
  });
});
