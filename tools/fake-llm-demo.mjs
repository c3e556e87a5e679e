// Scripted "models" for demos without API keys, served by `npm run fake-llm` (docs/llm.md):
// - `handler` (the default, `--mode demo`): whatever the task says, plan → write add(a, b) in
//   solution.{js,ts,py} → tests that really pass in the sandbox → APPROVE.
// - `echoHandler` (`--mode echo`): the same add(a, b), written into the file names the task itself
//   mentions (`reverse.js` stays `reverse.js`), each file saying that a fake model wrote it.
// Neither reads the task beyond its language and (echo) its file names: they exercise Quorum's run
// loop (plan, code, tests in the sandbox, review), not a model's skill.

const EXTENSIONS = { javascript: ['js', 'mjs'], typescript: ['ts'], python: ['py'] };

/** The task's brief in the prompt (from `Task:` up to the plan or the end), where its own words are. */
function briefOf(prompt) {
  const start = prompt.indexOf('Task: ');
  if (start < 0) return '';
  const rest = prompt.slice(start);
  const planAt = rest.indexOf('\nPlan: ');
  return planAt < 0 ? rest : rest.slice(0, planAt);
}

/** The task's language: its brief's `Language:` line, else a mention anywhere in the prompt. */
export function languageOf(prompt) {
  const declared = /^Language: (javascript|typescript|python)$/m.exec(briefOf(prompt))?.[1];
  if (declared) return declared;
  if (/\bpython\b/i.test(prompt)) return 'python';
  if (/\btypescript\b/i.test(prompt)) return 'typescript';
  return 'javascript';
}

const isTestName = (name) => /(^test_|[._-](test|spec)\.)/.test(name);

/**
 * The file names the task's brief mentions for its language, in order of mention, without
 * directories: `{ code, tests }` (names that look like tests go to `tests`). Python names must be
 * importable modules.
 */
export function taskFileNames(prompt, language = languageOf(prompt)) {
  const extensions = EXTENSIONS[language];
  const pattern = new RegExp(`(?<![\\w.-])([A-Za-z_][\\w.-]*\\.(?:${extensions.join('|')}))(?![\\w-])`, 'g');
  const names = [...new Set([...briefOf(prompt).matchAll(pattern)].map((match) => match[1]))].filter(
    (name) => language !== 'python' || /^[A-Za-z_]\w*\.py$/.test(name),
  );
  return { code: names.filter((name) => !isTestName(name)), tests: names.filter(isTestName) };
}

/** add(a, b) in `codePath` and two passing tests of it in `testPath`; `banner` heads each file. */
function filesFor(language, codePath, testPath, banner = '') {
  if (language === 'python') {
    const module = codePath.replace(/\.py$/, '');
    const comment = banner ? `# ${banner}\n` : '';
    return {
      code: [
        {
          path: codePath,
          content: `${comment}def add(a, b):\n    """Return the sum of a and b."""\n    return a + b\n`,
        },
      ],
      tests: [
        {
          path: testPath,
          content: `${comment}import unittest\nfrom ${module} import add\n\n\nclass AddTest(unittest.TestCase):\n    def test_adds(self):\n        self.assertEqual(add(2, 3), 5)\n\n    def test_negative(self):\n        self.assertEqual(add(-1, 1), 0)\n\n\nif __name__ == "__main__":\n    unittest.main()\n`,
        },
      ],
    };
  }
  const comment = banner ? `// ${banner}\n` : '';
  const signature =
    language === 'typescript' ? 'export function add(a: number, b: number): number' : 'export function add(a, b)';
  return {
    code: [
      { path: codePath, content: `${comment}/** Returns the sum of a and b. */\n${signature} {\n  return a + b;\n}\n` },
    ],
    tests: [
      {
        path: testPath,
        content: `${comment}import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nimport { add } from './${codePath}';\n\ntest('adds', () => assert.equal(add(2, 3), 5));\ntest('handles negatives', () => assert.equal(add(-1, 1), 0));\n`,
      },
    ],
  };
}

const EXT = { javascript: 'js', typescript: 'ts', python: 'py' };

/** The default script's files: always solution.{js,ts,py} and its test. */
function solution(prompt) {
  const language = languageOf(prompt);
  const ext = EXT[language];
  return filesFor(language, `solution.${ext}`, language === 'python' ? 'test_solution.py' : `solution.test.${ext}`);
}

/** The echo script's files: the task's first code file name (else solution.*) and its test file name (else derived). */
function echoed(prompt) {
  const language = languageOf(prompt);
  const ext = EXT[language];
  const names = taskFileNames(prompt, language);
  const codePath = names.code[0] ?? `solution.${ext}`;
  const base = codePath.replace(/\.[^.]+$/, '');
  const testPath =
    names.tests[0] ?? (language === 'python' ? `test_${base}.py` : `${base}.test.${codePath.split('.').pop()}`);
  return filesFor(
    language,
    codePath,
    testPath,
    'Written by the fake model (npm run fake-llm -- --mode echo): add(a, b), whatever the task asks.',
  );
}

/** Answers each agent's tool with `files(prompt)`; undefined for anything else (the fake's default). */
function scripted(files, review) {
  return (request) => {
    // The planner and the reviewer are forced to their tool; the coder's and the tester's loops offer
    // their finishing tool first (then the workspace tools) with any tool call required.
    const tool = request.forcedTool ?? request.tools[0];
    const { code, tests } = files(request.prompt);
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
                summary: `Implement add(a, b) in ${code.map((f) => f.path).join(', ')} and cover it with tests.`,
                steps: [
                  {
                    title: 'Implement add',
                    detail: 'A pure function returning a + b.',
                    files: code.map((f) => f.path),
                  },
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
          toolCalls: [{ name: 'submit_review', arguments: review }],
        };
      default:
        return undefined; // the fake's default: a call of the forced tool built from its schema, or text
    }
  };
}

export const handler = scripted(solution, {
  verdict: 'APPROVE',
  summary: 'Correct, small and tested.',
  score: 9,
  issues: [{ severity: 'info', message: 'Consider input validation.' }],
});

export const echoHandler = scripted(echoed, {
  verdict: 'APPROVE',
  summary: "Fake model (echo mode): add(a, b) in the task's file names; the task itself was not read.",
  score: 9,
  issues: [{ severity: 'info', message: 'Written by the fake model; use a real provider for real work.' }],
});
