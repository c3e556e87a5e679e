import { analyseTestOutput } from './test-analysis.js';

const TAP = `TAP version 13
# Subtest: adds
not ok 1 - adds
  ---
  duration_ms: 1.3
  type: 'test'
  failureType: 'testCodeFailure'
  error: |-
    Expected values to be strictly equal:

    -1 !== 3

  code: 'ERR_ASSERTION'
  expected: 3
  actual: -1
  ...
# Subtest: suite
    # Subtest: negative
    ok 1 - negative
      ---
      duration_ms: 0.4
      type: 'test'
      ...
    1..1
not ok 2 - suite
  ---
  type: 'suite'
  failureType: 'subtestsFailed'
  error: '1 subtest failed'
  ...
1..2
# tests 2
# suites 1
# pass 1
# fail 1
`;

const UNITTEST = `.F
======================================================================
FAIL: test_sub (test_calc.CalcTest.test_sub)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/w/test_calc.py", line 8, in test_sub
    self.assertEqual(sub(3, 1), 2)
AssertionError: 4 != 2

----------------------------------------------------------------------
Ran 2 tests in 0.001s

FAILED (failures=1)
`;

describe('analyseTestOutput', () => {
  it('reads node --test TAP: leaf tests only, with the failing assertion', () => {
    const report = analyseTestOutput('javascript', { output: TAP, exitCode: 1 });
    expect(report).toMatchObject({ passed: 1, failed: 1 });
    expect(report.failures).toEqual([{ name: 'adds', message: 'Expected values to be strictly equal: -1 !== 3' }]);
  });

  it('reads python unittest output', () => {
    const report = analyseTestOutput('python', { output: UNITTEST, exitCode: 1 });
    expect(report).toMatchObject({ passed: 1, failed: 1 });
    expect(report.failures).toEqual([
      { name: 'test_sub (test_calc.CalcTest.test_sub)', message: 'AssertionError: 4 != 2' },
    ]);
  });

  it('counts a crash before any test as a failure', () => {
    const report = analyseTestOutput('python', { output: 'SyntaxError: invalid syntax', exitCode: 1 });
    expect(report.failed).toBe(1);
    expect(report.failures[0].message).toContain('SyntaxError');
  });

  it('counts a timeout and an empty run as failures', () => {
    expect(analyseTestOutput('javascript', { output: '', exitCode: null, timedOut: true }).failed).toBe(1);
    expect(analyseTestOutput('javascript', { output: '# pass 0\n# fail 0\n', exitCode: 0 }).failures[0].message).toBe(
      'No tests ran.',
    );
  });

  it('passes a clean run', () => {
    const report = analyseTestOutput('javascript', { output: 'ok 1 - a\n# pass 1\n# fail 0\n', exitCode: 0 });
    expect(report).toMatchObject({ passed: 1, failed: 0, failures: [] });
  });
});

describe('analyseTestOutput with sandbox counts', () => {
  it('prefers the structured counts and reports a runner error as a failure', () => {
    expect(
      analyseTestOutput('javascript', {
        output: 'x',
        exitCode: 1,
        passed: 2,
        failed: 1,
        failures: [{ name: 'a', message: 'b' }],
      }),
    ).toMatchObject({
      passed: 2,
      failed: 1,
      failures: [{ name: 'a', message: 'b' }],
    });
    const crashed = analyseTestOutput('javascript', {
      output: '',
      exitCode: 137,
      passed: 0,
      failed: 0,
      error: 'memory limit',
    });
    expect(crashed).toMatchObject({ failed: 1, failures: [{ name: 'test run', message: 'memory limit' }] });
  });
});
