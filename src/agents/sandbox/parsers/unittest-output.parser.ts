import { clip, MAX_FAILURES, type ParsedTests } from './parsed-tests.js';

const RAN = /^Ran (\d+) tests? in [\d.]+s$/m;
const SUMMARY = /^(OK|FAILED|NO TESTS RAN)(?: \(([^)]*)\))?\s*$/m;
const BLOCK_HEADER = /^(FAIL|ERROR|UNEXPECTED SUCCESS): (.+)$/;
const RULE_EQ = /^={50,}$/;
const RULE_DASH = /^-{50,}$/;

/**
 * Parses what `python -m unittest` prints on stderr: the "Ran N tests" line, the summary line
 * (`OK`, `FAILED (failures=1, errors=2, skipped=1)`) and each FAIL/ERROR block (name line, then the
 * traceback, whose last unindented lines are the exception message). Unexpected successes count
 * as failures, expected failures as passes, as unittest's own verdict does.
 */
export function parseUnittestOutput(stderr: string): ParsedTests {
  const lines = stderr.split(/\r?\n/);
  const failures: { name: string; message: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!RULE_EQ.test(lines[i])) continue;
    const header = BLOCK_HEADER.exec(lines[i + 1] ?? '');
    if (!header || !RULE_DASH.test(lines[i + 2] ?? '')) continue;
    const body: string[] = [];
    let j = i + 3;
    for (; j < lines.length; j++) {
      // An UNEXPECTED SUCCESS block has no body: its rule is directly followed by "Ran N tests".
      if (RULE_EQ.test(lines[j]) || RULE_DASH.test(lines[j]) || RAN.test(lines[j])) break;
      body.push(lines[j]);
    }
    failures.push({ name: testName(header[2]), message: exceptionOf(body) || header[1] });
    i = j - 1;
  }

  const ran = RAN.exec(stderr);
  const summary = SUMMARY.exec(stderr);
  const counts = parseCounts(summary?.[2] ?? '');
  const total = ran ? Number(ran[1]) : failures.length;
  const failed = ran
    ? (counts.failures ?? 0) + (counts.errors ?? 0) + (counts['unexpected successes'] ?? 0)
    : failures.length;
  const skipped = counts.skipped ?? 0;
  return {
    passed: Math.max(0, total - failed - skipped),
    failed: Math.max(failed, failures.length),
    skipped,
    failures: failures.slice(0, MAX_FAILURES),
  };
}

/** `test_add (test_math.MathTest.test_add)` → `test_math.MathTest.test_add`; keeps anything else as is. */
function testName(raw: string): string {
  const match = /^(\S+) \(([^)]+)\)$/.exec(raw.trim());
  if (!match) return clip(raw.trim(), 500);
  return clip(match[2].endsWith(`.${match[1]}`) ? match[2] : `${match[2]}.${match[1]}`, 500);
}

function exceptionOf(body: string[]): string {
  const lines = [...body];
  while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
  // After the last `  File "…", line N` frame come its source lines (indented), then the exception.
  let start = 0;
  lines.forEach((line, index) => {
    if (/^ {2}File "/.test(line)) start = index + 1;
  });
  while (start < lines.length && /^ {4}/.test(lines[start])) start++;
  const tail = lines.slice(start).join('\n').trim();
  return clip(tail || lines.join('\n').trim());
}

function parseCounts(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(',')) {
    const match = /^\s*([a-z ]+)=(\d+)\s*$/.exec(part);
    if (match) out[match[1].trim()] = Number(match[2]);
  }
  return out;
}
