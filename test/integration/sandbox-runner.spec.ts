import { randomUUID } from 'node:crypto';
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

describe('SandboxService (bwrap, real processes)', () => {
  let h: SandboxHarness;
  beforeAll(async () => {
    h = await createSandboxHarness();
  });
  afterAll(async () => {
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
    expect(result).toMatchObject({ status: 'failed', passed: 3, failed: 1, total: 4, timedOut: false, truncated: false });
    expect(result.failures).toEqual([{ name: 'edge cases > is wrong on purpose', message: expect.stringContaining('two plus two') }]);
    expect(result.output).toContain('adds small numbers');
  });
});
