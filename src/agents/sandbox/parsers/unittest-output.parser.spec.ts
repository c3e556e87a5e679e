import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseUnittestOutput } from './unittest-output.parser.js';

// Fixtures are real stderr captures of `python3 -B -m unittest discover -s . -t . -p '*test*.py' -v` (3.11).
const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');

describe('parseUnittestOutput', () => {
  it('parses a real failing run: failures, errors, import errors, skips, (un)expected outcomes', () => {
    const parsed = parseUnittestOutput(fixture('unittest-mixed.stderr.txt'));
    expect(parsed).toMatchObject({ passed: 3, failed: 5, skipped: 1 });
    expect(parsed.failures).toEqual([
      {
        name: 'unittest.loader._FailedTest.test_broken_import',
        message: "ModuleNotFoundError: No module named 'does_not_exist'",
      },
      { name: 'test_calc.CalcTest.test_raises', message: "KeyError: 'missing'" },
      { name: 'test_calc.CalcTest.test_add_wrong', message: 'AssertionError: 4 != 5 : two plus two' },
      {
        name: 'test_calc.CalcTest.test_lists',
        message: expect.stringMatching(
          /^AssertionError: Lists differ: \[1, 2, 3\] != \[1, 2, 4\]\n\nFirst differing element 2:/,
        ),
      },
      { name: 'test_calc.CalcTest.test_unexpected_success', message: 'UNEXPECTED SUCCESS' },
    ]);
  });

  it('parses a real passing run', () => {
    expect(parseUnittestOutput(fixture('unittest-ok.stderr.txt'))).toEqual({
      passed: 1,
      failed: 0,
      skipped: 0,
      failures: [],
    });
  });

  it('parses a real run that found no tests', () => {
    expect(parseUnittestOutput(fixture('unittest-none.stderr.txt'))).toEqual({
      passed: 0,
      failed: 0,
      skipped: 0,
      failures: [],
    });
  });

  it('parses the Python 3.12+ "NO TESTS RAN" summary and an output cut short', () => {
    expect(
      parseUnittestOutput(
        '\n----------------------------------------------------------------------\nRan 0 tests in 0.000s\n\nNO TESTS RAN\n',
      ),
    ).toMatchObject({ passed: 0, failed: 0 });
    // killed before the summary: the blocks printed so far still count
    const cut = fixture('unittest-mixed.stderr.txt').split('Ran 9 tests')[0];
    expect(parseUnittestOutput(cut).failed).toBe(5);
  });
});
