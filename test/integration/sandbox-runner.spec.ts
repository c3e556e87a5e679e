import { randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { createSandboxHarness, type SandboxHarness } from '../support/sandbox.js';

const JS_LIB = `export function add(a, b) { return a + b; }\n`;
const JS_TESTS = `import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { add } from './add.mjs';
test('adds small numbers', () => { assert.equal(add(1, 2), 3); });
test('adds negatives', () => { assert.equal(add(-1, -2), -3); });
describe('edge cases', () => {
  test('adds zero', () => { assert.equal(add(0, 0), 0); });
  test('is wrong on purpose', () => { assert.equal(add(2, 2), 5, 'two plus two'); });
});
`;

const TS_LIB = `export enum Sign { Negative = -1, Zero = 0, Positive = 1 }
export interface Pair { a: number; b: number }
export function sum({ a, b }: Pair): number { return a + b; }
export function sign(n: number): Sign { return n < 0 ? Sign.Negative : n > 0 ? Sign.Positive : Sign.Zero; }
`;
const TS_TESTS = `import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sum, sign, Sign } from './src/math.ts';
test('sums a pair', () => { const p: { a: number; b: number } = { a: 2, b: 3 }; assert.equal(sum(p), 5); });
test('knows signs', () => { assert.equal(sign(-4), Sign.Negative); });
test('fails on purpose', () => { assert.equal(sum({ a: 1, b: 1 }), 3, 'one plus one'); });
`;

const PY_LIB = `def add(a, b):\n    return a + b\n`;
const PY_PREFIX_TESTS = `import os
import unittest
from calc import add

class CalcTest(unittest.TestCase):
    def test_add(self):
        self.assertEqual(add(1, 2), 3)

    def test_add_wrong(self):
        self.assertEqual(add(2, 2), 5, "two plus two")

    def test_environment_is_empty(self):
        self.assertEqual(sorted(k for k in os.environ if k.startswith("QUORUM")), [])
`;
const PY_SUFFIX_TESTS = `import unittest
from calc import add

class SuffixTest(unittest.TestCase):
    def test_found_by_suffix(self):
        self.assertEqual(add(0, 0), 0)
`;

describe('SandboxService runners (bwrap, real processes)', () => {
  let h: SandboxHarness;
  beforeAll(async () => {
    process.env.QUORUM_FAKE_PY_SECRET = 'py-secret-value'; // the python test asserts it cannot see it
    h = await createSandboxHarness({ SANDBOX_TIMEOUT_SECONDS: '20' });
  });
  afterAll(async () => {
    delete process.env.QUORUM_FAKE_PY_SECRET;
    await h?.close();
  });

  async function workspace(files: { path: string; content: string }[]): Promise<string> {
    const dir = await h.workspaces.create(randomUUID());
    await h.workspaces.writeFiles(dir, files);
    return dir;
  }

  it('runs passing and failing javascript tests and reports real counts', async () => {
    const dir = await workspace([
      { path: 'add.mjs', content: JS_LIB },
      { path: 'add.test.mjs', content: JS_TESTS },
    ]);
    const result = await h.sandbox.runTests({ workspaceDir: dir, language: 'javascript' });
    expect(result).toMatchObject({
      status: 'failed',
      passed: 3,
      failed: 1,
      total: 4,
      exitCode: 1,
      timedOut: false,
      truncated: false,
    });
    expect(result.failures).toEqual([
      { name: 'edge cases > is wrong on purpose', message: expect.stringContaining('two plus two') },
    ]);
    expect(result.output).toContain('✔ adds small numbers');
  });

  it('reports a fully passing javascript suite as passed', async () => {
    const dir = await workspace([
      { path: 'add.mjs', content: JS_LIB },
      {
        path: 'test/add.test.mjs',
        content: JS_TESTS.replace(/test\('is wrong[^\n]+\n/, '').replace("'./add.mjs'", "'../add.mjs'"),
      },
    ]);
    const result = await h.sandbox.runTests({ workspaceDir: dir, language: 'javascript' });
    expect(result).toMatchObject({ status: 'passed', passed: 3, failed: 0, total: 3, exitCode: 0, failures: [] });
  });

  it('runs typescript tests type-stripped (enums and interfaces included)', async () => {
    const dir = await workspace([
      { path: 'src/math.ts', content: TS_LIB },
      { path: 'src/math.test.ts', content: TS_TESTS.replace("'./src/math.ts'", "'./math.ts'") },
    ]);
    const result = await h.sandbox.runTests({ workspaceDir: dir, language: 'typescript' });
    expect(result).toMatchObject({ status: 'failed', passed: 2, failed: 1, total: 3 });
    expect(result.failures).toEqual([{ name: 'fails on purpose', message: expect.stringContaining('one plus one') }]);
  });

  it('resolves the imports generated TypeScript writes: extensionless, directory and .js-for-.ts', async () => {
    const dir = await workspace([
      { path: 'src/math.ts', content: TS_LIB },
      { path: 'src/util/index.ts', content: 'export const double = (n: number): number => n * 2;\n' },
      {
        path: 'test/math.test.ts',
        content: `import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sum } from '../src/math';
import { sign, Sign } from '../src/math.js';
import { double } from '../src/util';
test('imports resolve', () => { assert.equal(double(sum({ a: 1, b: 2 })), 6); assert.equal(sign(0), Sign.Zero); });
`,
      },
    ]);
    const result = await h.sandbox.runTests({ workspaceDir: dir, language: 'typescript' });
    expect(result).toMatchObject({ status: 'passed', passed: 1, failed: 0 });
  });

  it('runs python unittest discovery for test_*.py and *_test.py', async () => {
    const dir = await workspace([
      { path: 'calc.py', content: PY_LIB },
      { path: 'test_calc.py', content: PY_PREFIX_TESTS },
      { path: 'calc_test.py', content: PY_SUFFIX_TESTS },
    ]);
    const result = await h.sandbox.runTests({ workspaceDir: dir, language: 'python' });
    expect(result).toMatchObject({ status: 'failed', passed: 3, failed: 1, total: 4 });
    expect(result.failures).toEqual([
      { name: 'test_calc.CalcTest.test_add_wrong', message: 'AssertionError: 4 != 5 : two plus two' },
    ]);
    // -B: no __pycache__ left in the workspace
    expect((await h.workspaces.readFiles(dir)).map((f) => f.path)).toEqual(['calc.py', 'calc_test.py', 'test_calc.py']);
  });

  it('finds python tests in directories that are not packages (tests/ without __init__.py)', async () => {
    const dir = await workspace([
      { path: 'calc.py', content: PY_LIB },
      { path: 'tests/test_calc.py', content: PY_PREFIX_TESTS },
      { path: 'pkg/__init__.py', content: '' },
      { path: 'pkg/sub/__init__.py', content: '' },
      { path: 'pkg/sub/calc_test.py', content: PY_SUFFIX_TESTS },
      // neither is a test module: a pytest conftest (pytest is not there) and a module named like one
      { path: 'conftest.py', content: 'import pytest\n' },
      { path: 'latest.py', content: 'raise SystemExit("imported by mistake")\n' },
    ]);
    const result = await h.sandbox.runTests({ workspaceDir: dir, language: 'python' });
    expect(result).toMatchObject({ status: 'failed', passed: 3, failed: 1, total: 4 });
    expect(result.failures.map((f) => f.name)).toEqual(['test_calc.CalcTest.test_add_wrong']);
  });

  it("runs a custom command (argv, sandbox PATH) and parses it with the language's parser", async () => {
    const dir = await workspace([
      { path: 'calc.py', content: PY_LIB },
      { path: 'test_calc.py', content: PY_PREFIX_TESTS },
      { path: 'calc_test.py', content: PY_SUFFIX_TESTS },
    ]);
    const result = await h.sandbox.runTests({
      workspaceDir: dir,
      language: 'python',
      command: ['python3', '-m', 'unittest', '-v', 'calc_test'],
    });
    expect(result).toMatchObject({ status: 'passed', passed: 1, failed: 0, total: 1 });
  });

  it('reports a workspace without tests as failed, not passed', async () => {
    const dir = await workspace([{ path: 'add.mjs', content: JS_LIB }]);
    const js = await h.sandbox.runTests({ workspaceDir: dir, language: 'javascript' });
    expect(js).toMatchObject({ status: 'failed', total: 0 });
    const py = await h.sandbox.runTests({ workspaceDir: dir, language: 'python' });
    expect(py).toMatchObject({ status: 'failed', total: 0, error: 'No tests were found.' });
  });

  it('reports a test file that does not compile as a failure with the compiler message', async () => {
    const dir = await workspace([{ path: 'bad.test.mjs', content: "import { test } from 'node:test';\nconst = 1;\n" }]);
    const result = await h.sandbox.runTests({ workspaceDir: dir, language: 'javascript' });
    expect(result).toMatchObject({ status: 'failed', failed: 1, passed: 0 });
    expect(result.failures[0]).toEqual({ name: 'bad.test.mjs', message: expect.stringContaining('SyntaxError') });
  });
});

describe('SandboxService with a python that does not exist', () => {
  it('starts with a warning and reports python runs as errors', async () => {
    const warnings: string[] = [];
    const spy = jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
      warnings.push(String(message));
    });
    let h: SandboxHarness | undefined;
    try {
      h = await createSandboxHarness({ SANDBOX_PYTHON: '/nonexistent/python3' });
      spy.mockRestore();
      expect(warnings).toEqual([
        expect.stringContaining('SANDBOX_PYTHON=/nonexistent/python3 does not run in the sandbox'),
      ]);
      const dir = await h.workspaces.create(randomUUID());
      await h.workspaces.writeFiles(dir, [{ path: 'test_x.py', content: PY_SUFFIX_TESTS }]);
      const result = await h.sandbox.runTests({ workspaceDir: dir, language: 'python' });
      expect(result).toMatchObject({ status: 'error', total: 0 });
    } finally {
      spy.mockRestore();
      await h?.close();
    }
  });
});
