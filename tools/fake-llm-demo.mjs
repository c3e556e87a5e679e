// A scripted "model" for demos without API keys: `npm run fake-llm -- --script tools/fake-llm-demo.mjs`.
// It answers Quorum's agent tool protocol (API.md) with a small, working solution, so a demo run
// plans, writes code, writes tests that really pass in the sandbox, and gets approved.
const isPython = (prompt) => /\bpython\b/i.test(prompt);
const isTypeScript = (prompt) => /\btypescript\b/i.test(prompt);

function solution(prompt) {
  if (isPython(prompt)) {
    return {
      code: [
        { path: 'solution.py', content: 'def add(a, b):\n    """Return the sum of a and b."""\n    return a + b\n' },
      ],
      tests: [
        {
          path: 'test_solution.py',
          content:
            'import unittest\nfrom solution import add\n\n\nclass AddTest(unittest.TestCase):\n    def test_adds(self):\n        self.assertEqual(add(2, 3), 5)\n\n    def test_negative(self):\n        self.assertEqual(add(-1, 1), 0)\n\n\nif __name__ == "__main__":\n    unittest.main()\n',
        },
      ],
    };
  }
  const ext = isTypeScript(prompt) ? 'ts' : 'js';
  const signature = ext === 'ts' ? 'export function add(a: number, b: number): number' : 'export function add(a, b)';
  return {
    code: [
      { path: `solution.${ext}`, content: `/** Returns the sum of a and b. */\n${signature} {\n  return a + b;\n}\n` },
    ],
    tests: [
      {
        path: `solution.test.${ext}`,
        content: `import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nimport { add } from './solution.${ext === 'ts' ? 'ts' : 'js'}';\n\ntest('adds', () => assert.equal(add(2, 3), 5));\ntest('handles negatives', () => assert.equal(add(-1, 1), 0));\n`,
      },
    ],
  };
}

export function handler(request) {
  // The planner and the reviewer are forced to their tool; the coder's and the tester's loops offer
  // their finishing tool first (then the workspace tools) with any tool call required.
  const tool = request.forcedTool ?? request.tools[0];
  const { code, tests } = solution(request.prompt);
  const usage = { output: 120 };
  switch (tool) {
    case 'submit_plan':
      return {
        text: 'Planning the change.',
        usage,
        toolCalls: [
          {
            name: 'submit_plan',
            arguments: {
              summary: 'Implement add(a, b) and cover it with tests.',
              steps: [
                { title: 'Implement add', detail: 'A pure function returning a + b.', files: code.map((f) => f.path) },
                { title: 'Test it', detail: 'Positive and negative numbers.', files: tests.map((f) => f.path) },
              ],
            },
          },
        ],
      };
    case 'write_files':
      return {
        text: 'Writing the code.',
        usage,
        toolCalls: [{ name: 'write_files', arguments: { files: code, notes: 'Pure function, no dependencies.' } }],
      };
    case 'write_tests':
      return { text: 'Writing the tests.', usage, toolCalls: [{ name: 'write_tests', arguments: { files: tests } }] };
    case 'submit_review':
      return {
        text: 'Reviewing.',
        usage,
        toolCalls: [
          {
            name: 'submit_review',
            arguments: {
              verdict: 'APPROVE',
              summary: 'Correct, small and tested.',
              score: 9,
              issues: [{ severity: 'info', message: 'Consider input validation.' }],
            },
          },
        ],
      };
    default:
      return undefined; // the fake's default: a call of the forced tool built from its schema, or text
  }
}
