import type { TaskFile } from '#src/tasks/entities/task.entity.js';
import type { RunInput } from '#src/agents/runs/entities/run.entity.js';
import type { Plan } from './agent-tools.js';

/** The agents' instructions. Short on purpose: the tool schema carries the answer's shape. */
const RUNNERS = {
  javascript: 'Tests run with `node --test` (ES modules, node:test and node:assert/strict).',
  typescript:
    'Tests run with `node --test` on TypeScript with types stripped (node:test and node:assert/strict; use .ts imports).',
  python: 'Tests run with `python3 -m unittest discover` (files named test_*.py).',
} as const;

export function taskBrief(input: RunInput): string {
  const files = input.files.length > 0 ? `\n\nExisting files:\n${renderFiles(input.files)}` : '';
  return `Task: ${input.title}\nLanguage: ${input.language}\n\n${input.description}${files}`;
}

export function renderFiles(files: TaskFile[]): string {
  return files.map((file) => `--- ${file.path}\n${file.content}`).join('\n\n');
}

/** How much of a change's diff a reviewer's prompt holds (the changed files are given whole besides). */
export const MAX_REVIEW_DIFF_CHARS = 60_000;

/** A repository task's change against its base commit, bounded, as reviewers read it. */
export function boundedDiff(diff: string): string {
  if (diff.length <= MAX_REVIEW_DIFF_CHARS) return diff;
  return `${diff.slice(0, MAX_REVIEW_DIFF_CHARS)}\n[… ${diff.length - MAX_REVIEW_DIFF_CHARS} more characters of the diff left out; the changed files are given whole]`;
}

export function renderPlan(plan: Plan | null): string {
  if (!plan) return '';
  const steps = plan.steps
    .map((step, i) => `${i + 1}. ${step.title}${step.detail ? `: ${step.detail}` : ''}`)
    .join('\n');
  return `Plan: ${plan.summary}\n${steps}`;
}

const LOOP =
  'You may first explore and change the workspace with the tools list_files, read_file, search, edit_file (one exact occurrence), write_file, delete_file and run_command (sandboxed, no network); prefer edit_file for small changes to large files.';

export const SYSTEM = {
  planner:
    'You are the planner of a coding team. Break the task into a short plan. Answer only by calling submit_plan.',
  coder: (language: RunInput['language']) =>
    `You are the coder of a coding team. Write complete ${language} source files (no tests). ${RUNNERS[language]} ${LOOP} Finish by calling write_files.`,
  tester: (language: RunInput['language']) =>
    `You are the tester of a coding team. Write focused tests of the task's behaviour. ${RUNNERS[language]} ${LOOP} Finish by calling write_tests.`,
  reviewer:
    'You are the code reviewer of a coding team. Judge correctness, security and maintainability. APPROVE only code ready to ship. Answer only by calling submit_review.',
};

export function correctiveMessage(tool: string, problem: string): string {
  return `Your answer did not contain a valid call of the tool \`${tool}\` (${problem}). Answer again by calling \`${tool}\` exactly once with arguments matching its schema.`;
}
