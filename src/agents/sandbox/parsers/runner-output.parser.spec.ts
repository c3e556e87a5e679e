import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseJunitXml, parseRunnerOutput } from './runner-output.parser.js';

/**
 * Fixtures `runner-*` are real captures (NO_COLOR=1 CI=1, Node 24, Python 3.11) of the same two
 * suites in each runner: math (2 passing, 1 skipped) alone, then with strings (an assertion
 * failure and a thrown error in a nested suite): node --test (spec and TAP reporters), jest 30,
 * vitest 3.2 (text and --reporter=junit), mocha 11 (spec), pytest 9 (text and --junitxml) and
 * python -m unittest.
 */
const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', `runner-${name}`), 'utf8');

describe('parseRunnerOutput', () => {
  it.each([
    ['node-test-pass.txt', 'node:test'],
    ['jest-pass.txt', 'jest'],
    ['vitest-pass.txt', 'vitest'],
    ['mocha-pass.txt', 'mocha'],
    ['pytest-pass.txt', 'pytest'],
  ])('reads a passing %s run: 2 passed, 1 skipped', (name, runner) => {
    expect(parseRunnerOutput(fixture(name))).toEqual({ runner, passed: 2, failed: 0, skipped: 1, failures: [] });
  });

  it('reads a failing node --test run (spec reporter)', () => {
    const report = parseRunnerOutput(fixture('node-test-fail.txt'));
    expect(report).toMatchObject({ runner: 'node:test', passed: 2, failed: 2, skipped: 1 });
    expect(report!.failures).toEqual([
      { name: 'concatenates', message: 'AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:' },
      { name: 'throws a plain error', message: 'Error: boom' },
    ]);
  });

  it('reads a failing node --test run (TAP reporter), leaf tests only', () => {
    const report = parseRunnerOutput(fixture('node-test-fail.tap.txt'));
    expect(report).toMatchObject({ runner: 'node:test', passed: 2, failed: 2, skipped: 1 });
    expect(report!.failures).toEqual([
      { name: 'concatenates', message: 'Expected values to be strictly equal:' },
      { name: 'throws a plain error', message: 'boom' },
    ]);
  });

  it('reads a failing jest run', () => {
    const report = parseRunnerOutput(fixture('jest-fail.txt'));
    expect(report).toMatchObject({ runner: 'jest', passed: 2, failed: 2, skipped: 1 });
    expect(report!.failures).toEqual([
      {
        name: 'strings › concatenates',
        message: 'expect(received).toBe(expected) // Object.is equality Expected: "abc" Received: "ab"',
      },
      { name: 'strings › nested › throws a plain error', message: 'boom' },
    ]);
  });

  it('reads a failing vitest run', () => {
    const report = parseRunnerOutput(fixture('vitest-fail.txt'));
    expect(report).toMatchObject({ runner: 'vitest', passed: 2, failed: 2, skipped: 1 });
    expect(report!.failures).toEqual([
      {
        name: 'fail.test.js > strings > concatenates',
        message: "AssertionError: expected 'ab' to be 'abc' // Object.is equality",
      },
      { name: 'fail.test.js > strings > nested > throws a plain error', message: 'Error: boom' },
    ]);
  });

  it('reads a failing mocha run', () => {
    const report = parseRunnerOutput(fixture('mocha-fail.txt'));
    expect(report).toMatchObject({ runner: 'mocha', passed: 2, failed: 2, skipped: 1 });
    expect(report!.failures).toEqual([
      {
        name: 'strings › concatenates',
        message: 'AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:',
      },
      { name: 'strings › nested › throws a plain error', message: 'Error: boom' },
    ]);
  });

  it('reads a failing pytest run', () => {
    const report = parseRunnerOutput(fixture('pytest-fail.txt'));
    expect(report).toMatchObject({ runner: 'pytest', passed: 2, failed: 2, skipped: 1 });
    expect(report!.failures).toEqual([
      { name: 'test_strings.py::test_concatenates', message: "AssertionError: assert 'ab' == 'abc'" },
      { name: 'test_strings.py::TestNested::test_throws', message: 'ValueError: boom' },
    ]);
  });

  it('reads a failing unittest run (stdout and stderr together, as a shell command prints them)', () => {
    const report = parseRunnerOutput(fixture('unittest-fail.txt'));
    expect(report).toMatchObject({ runner: 'unittest', passed: 1, failed: 2, skipped: 1 });
    expect(report!.failures.map((f) => f.name)).toEqual([
      'test_calc.CalcTest.test_throws',
      'test_calc.CalcTest.test_concatenates',
    ]);
    expect(report!.failures[0].message).toBe('ValueError: boom');
  });

  it('prefers a JUnit report the runner wrote over its text', () => {
    const report = parseRunnerOutput('some text nobody reads', fixture('pytest-fail.junit.xml'));
    expect(report).toMatchObject({ runner: 'junit', passed: 2, failed: 2, skipped: 1 });
    expect(report!.failures.map((f) => f.name)).toEqual([
      'test_strings › test_concatenates',
      'test_strings.TestNested › test_throws',
    ]);
    expect(report!.failures[1].message).toBe('ValueError: boom');
  });

  it('reads vitest JUnit XML, entities decoded', () => {
    const report = parseJunitXml(fixture('vitest-fail.junit.xml'));
    expect(report).toMatchObject({ runner: 'junit', passed: 2, failed: 2, skipped: 1 });
    expect(report!.failures[0]).toEqual({
      name: 'fail.test.js › strings > concatenates',
      message: "expected 'ab' to be 'abc' // Object.is equality",
    });
  });

  it('returns null for output no known runner printed (counts unknown)', () => {
    expect(parseRunnerOutput('make: *** [test] Error 1\n')).toBeNull();
    expect(parseRunnerOutput('')).toBeNull();
    expect(parseRunnerOutput('all good', '<not-junit/>')).toBeNull();
  });

  it('ignores colour codes', () => {
    const colored = fixture('jest-pass.txt').replace('Tests:', '\u001b[1mTests:\u001b[22m');
    expect(parseRunnerOutput(colored)).toMatchObject({ runner: 'jest', passed: 2 });
  });
});
