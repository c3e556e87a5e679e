import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseNodeTestReport } from './node-test-report.parser.js';

// Fixtures are real captures of `node --test` (Node 24) with runners/node-test-reporter.ts on fd 3.
const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');

describe('parseNodeTestReport', () => {
  it('counts leaf tests of a real mixed run: nesting, suites, skip/todo, hooks, broken files, timeouts', () => {
    const parsed = parseNodeTestReport(fixture('node-mixed.report.jsonl'));
    expect(parsed).toMatchObject({ passed: 4, failed: 8, skipped: 2 });
    expect(parsed.failures.map((f) => f.name)).toEqual([
      'fails with assert',
      'throws a string',
      'parent > child bad',
      'suite > deeper > deep bad',
      'hook failure > never runs',
      'hook failure',
      'broken.test.mjs',
      'slow',
    ]);
    const byName = Object.fromEntries(parsed.failures.map((f) => [f.name, f.message]));
    expect(byName['fails with assert']).toContain('Expected values to be strictly deep-equal');
    expect(byName['throws a string']).toBe('plain string');
    expect(byName['parent > child bad']).toBe('child went wrong');
    expect(byName['suite > deeper > deep bad']).toBe('x is not a function');
    expect(byName['hook failure']).toBe('before hook broke');
    expect(byName['broken.test.mjs']).toContain("SyntaxError: Unexpected token '='");
    expect(byName.slow).toBe('test timed out after 50ms');
  });

  it('parses a real TypeScript run (type-stripped)', () => {
    expect(parseNodeTestReport(fixture('node-typescript.report.jsonl'))).toEqual({
      passed: 1,
      failed: 1,
      skipped: 0,
      failures: [{ name: 'fails', message: 'one plus two\n\n3 !== 4' }],
    });
  });

  it('ignores lines that are not report events and an empty report', () => {
    expect(parseNodeTestReport('')).toEqual({ passed: 0, failed: 0, skipped: 0, failures: [] });
    const noisy = `garbage\n{"type":"pass","name":"ok","nesting":0,"file":"a.test.mjs"}\n{not json\n{"type":"other"}\n`;
    expect(parseNodeTestReport(noisy)).toMatchObject({ passed: 1, failed: 0 });
  });

  it('keeps interleaved files apart', () => {
    const lines = [
      { type: 'pass', name: 'a1', nesting: 1, file: 'a.test.mjs' },
      { type: 'fail', name: 'b1', nesting: 1, file: 'b.test.mjs', failureType: 'testCodeFailure', message: 'boom' },
      { type: 'pass', name: 'A', nesting: 0, file: 'a.test.mjs' },
      {
        type: 'fail',
        name: 'B',
        nesting: 0,
        file: 'b.test.mjs',
        failureType: 'subtestsFailed',
        message: '1 subtest failed',
      },
    ];
    const parsed = parseNodeTestReport(lines.map((l) => JSON.stringify(l)).join('\n'));
    expect(parsed).toEqual({ passed: 1, failed: 1, skipped: 0, failures: [{ name: 'B > b1', message: 'boom' }] });
  });
});
