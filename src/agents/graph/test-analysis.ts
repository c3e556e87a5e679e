/**
 * Deterministic reading of a test runner's real output: TAP from `node --test` (javascript and
 * typescript) and the summary of `python3 -m unittest`. No model is involved: the counts and the
 * failing tests' messages come from what the runner printed.
 */
export interface TestFailure {
  name: string;
  message: string;
}

export interface TestReport {
  /**
   * False when a test command's output matched no runner we read: the counts are then not the
   * runner's (0, or 1 failure standing for a non-zero exit) and the result shows them as null.
   */
  countsKnown?: boolean;
  passed: number;
  failed: number;
  failures: TestFailure[];
  output: string;
}

export interface RunnerOutput {
  output: string;
  exitCode: number | null;
  timedOut?: boolean;
  /** Counts the sandbox read from the runner's structured report (preferred over parsing the text). */
  passed?: number;
  failed?: number;
  failures?: TestFailure[];
  error?: string;
  /** A repository's or task's test command: its exit code decides, whatever the counts say. */
  byExitCode?: boolean;
  countsKnown?: boolean;
}

const MAX_MESSAGE = 600;
const MAX_FAILURES = 20;

export function analyseTestOutput(language: 'typescript' | 'javascript' | 'python', runner: RunnerOutput): TestReport {
  if (runner.byExitCode) return judgeByExitCode(runner);
  const parsed =
    runner.passed !== undefined && runner.failed !== undefined
      ? { passed: runner.passed, failed: runner.failed, failures: [...(runner.failures ?? [])] }
      : language === 'python'
        ? parseUnittest(runner.output)
        : parseTap(runner.output);
  const { passed } = parsed;
  let { failed } = parsed;
  const failures = parsed.failures.slice(0, MAX_FAILURES);
  if (runner.timedOut) {
    failed = Math.max(failed, 1);
    failures.push({ name: 'test run', message: 'The test run exceeded its time limit and was stopped.' });
  } else if (runner.error && failed === 0) {
    failed = 1;
    failures.push({ name: 'test run', message: runner.error });
  } else if (runner.exitCode !== 0 && failed === 0) {
    // A crash before any test reported (syntax error, import failure, no tests found) is a failure too.
    failed = 1;
    failures.push({
      name: 'test run',
      message: `The test runner exited with code ${runner.exitCode}: ${tail(runner.output)}`,
    });
  } else if (runner.exitCode === 0 && passed === 0 && failed === 0) {
    failed = 1;
    failures.push({ name: 'test run', message: 'No tests ran.' });
  }
  return { passed, failed, failures, output: runner.output };
}

/** A test command: exit code 0 passes; anything else fails, with a named failure when no test said why. */
function judgeByExitCode(runner: RunnerOutput): TestReport {
  const countsKnown = runner.countsKnown !== false;
  let passed = runner.passed ?? 0;
  let failed = runner.failed ?? 0;
  const failures = [...(runner.failures ?? [])].slice(0, MAX_FAILURES);
  if (runner.timedOut) {
    failed = Math.max(failed, 1);
    failures.push({ name: 'test run', message: 'The test run exceeded its time limit and was stopped.' });
  } else if (runner.exitCode !== 0 && failed === 0) {
    failed = 1;
    failures.push({
      name: 'test run',
      message:
        `${runner.error ?? `The test command exited with code ${runner.exitCode}.`} ${tail(runner.output)}`.slice(
          0,
          MAX_MESSAGE,
        ),
    });
  } else if (runner.exitCode === 0 && !countsKnown) {
    passed = 0;
    failed = 0;
  }
  return { countsKnown, passed, failed, failures, output: runner.output };
}

function parseTap(output: string): Omit<TestReport, 'output'> {
  const lines = output.split(/\r?\n/);
  const failures: TestFailure[] = [];
  let passCount = 0;
  let failCount = 0;
  for (let i = 0; i < lines.length; i++) {
    const match = /^(\s*)(not ok|ok) \d+ - (.*?)(\s+#\s*(SKIP|TODO).*)?$/.exec(lines[i]);
    if (!match || match[4]) continue;
    const [, indent, status, name] = match;
    const block = yamlBlock(lines, i + 1, indent.length);
    // Suites report their subtests' outcome again; only leaf tests count.
    if (/^type: 'suite'$/m.test(block) || /failureType: 'subtestsFailed'/.test(block)) continue;
    if (status === 'ok') passCount++;
    else {
      failCount++;
      failures.push({ name: name.trim(), message: tapErrorMessage(block) });
    }
  }
  // The runner's own summary wins when present (`# pass N` in TAP, `ℹ pass N` from the spec reporter).
  return {
    passed: matchNumber(output, /^(?:#|ℹ) pass (\d+)$/m) ?? passCount,
    failed: matchNumber(output, /^(?:#|ℹ) fail (\d+)$/m) ?? failCount,
    failures,
  };
}

function yamlBlock(lines: string[], from: number, indent: number): string {
  const block: string[] = [];
  if ((lines[from] ?? '').trim() !== '---') return '';
  for (let j = from + 1; j < lines.length; j++) {
    const line = lines[j];
    if (line.trim() === '...' && line.search(/\S/) <= indent + 2) break;
    block.push(line.slice(Math.min(indent + 2, line.search(/\S/) < 0 ? 0 : line.search(/\S/))));
  }
  return block.join('\n');
}

function tapErrorMessage(block: string): string {
  const multi = /^error: \|-?\n([\s\S]*?)(?=^\S)/m.exec(block);
  const single = /^error: (.*)$/m.exec(block);
  const raw = multi ? multi[1] : (single?.[1] ?? 'failed');
  const message = raw
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ')
    .replace(/^['"]|['"]$/g, '');
  return message.slice(0, MAX_MESSAGE);
}

function parseUnittest(output: string): Omit<TestReport, 'output'> {
  const ran = matchNumber(output, /^Ran (\d+) tests? in/m) ?? 0;
  const failedCount = matchNumber(output, /failures=(\d+)/) ?? 0;
  const errorCount = matchNumber(output, /errors=(\d+)/) ?? 0;
  const failures: TestFailure[] = [];
  const blocks = output.split(/^={50,}$/m).slice(1);
  for (const block of blocks) {
    const header = /^\s*(FAIL|ERROR): (.+)$/m.exec(block);
    if (!header) continue;
    const body = block.split(/^-{50,}$/m)[1] ?? '';
    const lastLine = body.trim().split('\n').filter(Boolean).at(-1) ?? '';
    failures.push({ name: header[2].trim(), message: lastLine.slice(0, MAX_MESSAGE) });
  }
  const failed = failedCount + errorCount;
  return { passed: Math.max(0, ran - failed), failed, failures };
}

function matchNumber(text: string, pattern: RegExp): number | undefined {
  const match = pattern.exec(text);
  return match ? Number(match[1]) : undefined;
}

function tail(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > 400 ? `…${trimmed.slice(-400)}` : trimmed;
}
