import { stripVTControlCharacters } from 'node:util';
import { clip, MAX_FAILURES, type ParsedTests } from './parsed-tests.js';
import { parseUnittestOutput } from './unittest-output.parser.js';

export type RunnerName = 'junit' | 'jest' | 'vitest' | 'pytest' | 'unittest' | 'mocha' | 'node:test';

export interface RunnerReport extends ParsedTests {
  runner: RunnerName;
}

/**
 * Reads the counts and failing tests' names from a repository's own test command: JUnit XML when
 * the runner wrote one (collected by the sandbox), else the text each known runner prints (jest,
 * vitest, pytest, unittest, mocha's spec reporter, node:test's spec and TAP reporters). Null when
 * nothing matches: the counts are then unknown and the exit code alone decides.
 */
export function parseRunnerOutput(output: string, junitXml = ''): RunnerReport | null {
  // Colours and cursor movements of the runners' reporters (Node's own VT parser).
  const clean = stripVTControlCharacters(output);
  if (junitXml.includes('<testcase') || junitXml.includes('<testsuite')) {
    const junit = parseJunitXml(junitXml);
    if (junit) return junit;
  }
  for (const parse of [parseJest, parseVitest, parsePytest, parseUnittest, parseMocha, parseNodeTest]) {
    const report = parse(clean);
    if (report) return report;
  }
  return null;
}

// --- JUnit XML ---------------------------------------------------------------------------------

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeXml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|lt|gt|amp|quot|apos);/gi, (_m, entity: string) => {
    if (entity[0] === '#') {
      const code =
        entity[1] === 'x' || entity[1] === 'X' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
      return Number.isFinite(code) ? String.fromCodePoint(code) : '';
    }
    return ENTITIES[entity.toLowerCase()] ?? '';
  });
}

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`).exec(tag);
  return match ? decodeXml(match[1] ?? match[2] ?? '') : undefined;
}

/**
 * The `<testcase>` elements of one or more JUnit documents (pytest --junitxml, jest-junit, vitest,
 * mocha-junit-reporter, surefire): a case with `<failure>` or `<error>` failed, with `<skipped>`
 * was skipped, else passed. JUnit's shape is flat enough that the elements are read directly.
 */
export function parseJunitXml(xml: string): RunnerReport | null {
  const cases = /<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const failures: ParsedTests['failures'] = [];
  let found = false;
  for (let match = cases.exec(xml); match; match = cases.exec(xml)) {
    found = true;
    const attrs = match[1];
    const body = match[3] ?? '';
    const problem = /<(failure|error)\b([^>]*?)(?:\/>|>([\s\S]*?)<\/\1>)/.exec(body);
    if (problem) {
      failed++;
      if (failures.length < MAX_FAILURES) {
        const name = attribute(attrs, 'name') ?? 'unnamed test';
        const classname = attribute(attrs, 'classname');
        const message = attribute(problem[2], 'message') ?? decodeXml(problem[3] ?? '').trim();
        failures.push({
          name: classname && !name.startsWith(classname) ? `${classname} › ${name}` : name,
          message: clip(message || problem[1]),
        });
      }
    } else if (/<skipped\b/.test(body)) skipped++;
    else passed++;
  }
  return found ? { runner: 'junit', passed, failed, skipped, failures } : null;
}

// --- jest --------------------------------------------------------------------------------------

/** `Tests:       2 failed, 1 skipped, 2 passed, 5 total`, failures as `● suite › name` headers. */
function parseJest(output: string): RunnerReport | null {
  const summary = /^Tests:\s+(.*\d+ total)\s*$/m.exec(output);
  if (!summary) return null;
  const count = (word: string) => Number(new RegExp(`(\\d+) ${word}`).exec(summary[1])?.[1] ?? 0);
  const failures: ParsedTests['failures'] = [];
  const lines = output.split('\n');
  for (let i = 0; i < lines.length && failures.length < MAX_FAILURES; i++) {
    const header = /^ {2}● (.+)$/.exec(lines[i]);
    if (!header || header[1].startsWith('Test suite failed to run')) continue;
    const message = lines
      .slice(i + 1, i + 12)
      .map((l) => l.trim())
      .filter((l) => l && !/^\d+ \||^>|^\||^at /.test(l));
    failures.push({ name: header[1].trim(), message: clip(message.slice(0, 4).join(' ') || 'failed') });
  }
  return {
    runner: 'jest',
    passed: count('passed'),
    failed: count('failed'),
    skipped: count('skipped') + count('todo'),
    failures,
  };
}

// --- vitest ------------------------------------------------------------------------------------

/** `      Tests  2 failed | 2 passed | 1 skipped (5)`, failures as ` FAIL  file > suite > name`. */
function parseVitest(output: string): RunnerReport | null {
  const summary = /^\s*Tests\s{2,}(.+\(\d+\))\s*$/m.exec(output);
  if (!summary) return null;
  const count = (word: string) => Number(new RegExp(`(\\d+) ${word}`).exec(summary[1])?.[1] ?? 0);
  const failures: ParsedTests['failures'] = [];
  const lines = output.split('\n');
  for (let i = 0; i < lines.length && failures.length < MAX_FAILURES; i++) {
    const header = /^ FAIL {2}(.+)$/.exec(lines[i]);
    if (!header) continue;
    failures.push({ name: header[1].trim(), message: clip((lines[i + 1] ?? '').trim() || 'failed') });
  }
  return {
    runner: 'vitest',
    passed: count('passed'),
    failed: count('failed'),
    skipped: count('skipped') + count('todo'),
    failures,
  };
}

// --- pytest ------------------------------------------------------------------------------------

/** The last `=== 2 failed, 2 passed, 1 skipped in 3.08s ===` line; failures from the short summary. */
function parsePytest(output: string): RunnerReport | null {
  const summaries = [
    ...output.matchAll(/^=+ (.*\b(?:passed|failed|error|errors|skipped|no tests ran)\b.*) in [\d.]+s.* =+$/gm),
  ];
  const summary = summaries.at(-1);
  if (!summary) return null;
  const count = (word: string) => Number(new RegExp(`(\\d+) ${word}`).exec(summary[1])?.[1] ?? 0);
  const failures: ParsedTests['failures'] = [];
  for (const line of output.matchAll(/^(FAILED|ERROR) (\S+)(?: - (.*))?$/gm)) {
    if (failures.length >= MAX_FAILURES) break;
    failures.push({ name: line[2], message: clip(line[3]?.trim() || line[1].toLowerCase()) });
  }
  return {
    runner: 'pytest',
    passed: count('passed') + count('xfailed'),
    failed: count('failed') + count('errors?') + count('xpassed'),
    skipped: count('skipped') + count('deselected'),
    failures,
  };
}

// --- unittest ----------------------------------------------------------------------------------

function parseUnittest(output: string): RunnerReport | null {
  if (!/^Ran \d+ tests? in [\d.]+s$/m.test(output)) return null;
  return { runner: 'unittest', ...parseUnittestOutput(output) };
}

// --- mocha (spec reporter) ---------------------------------------------------------------------

/** `  2 passing (19ms)`, `  1 pending`, `  2 failing`, then numbered failure blocks. */
function parseMocha(output: string): RunnerReport | null {
  const passing = /^ {2}(\d+) passing \(/m.exec(output);
  if (!passing) return null;
  const failing = Number(/^ {2}(\d+) failing$/m.exec(output)?.[1] ?? 0);
  const pending = Number(/^ {2}(\d+) pending$/m.exec(output)?.[1] ?? 0);
  const failures: ParsedTests['failures'] = [];
  const after = output.slice(output.search(/^ {2}\d+ failing$/m) + 1);
  if (failing > 0) {
    const lines = after.split('\n');
    for (let i = 0; i < lines.length && failures.length < MAX_FAILURES; i++) {
      const start = /^ {2}(\d+)\) (.+)$/.exec(lines[i]);
      if (!start) continue;
      // The title runs over indented lines until the one ending with ':'.
      const parts = [start[2].trim()];
      let j = i + 1;
      while (!parts.at(-1)!.endsWith(':') && j < lines.length && lines[j].trim()) parts.push(lines[j++].trim());
      const name = parts.join(' › ').replace(/:$/, '');
      const message = lines
        .slice(j, j + 6)
        .map((l) => l.trim())
        .find((l) => l && !l.startsWith('at '));
      failures.push({ name, message: clip(message ?? 'failed') });
      i = j - 1;
    }
  }
  return { runner: 'mocha', passed: Number(passing[1]), failed: failing, skipped: pending, failures };
}

// --- node:test (spec and TAP reporters) --------------------------------------------------------

/** The summary (`ℹ pass 2` / `# pass 2`), failures from "✖ failing tests:" or `not ok` lines. */
function parseNodeTest(output: string): RunnerReport | null {
  const pass = /^(?:ℹ|#) pass (\d+)$/m.exec(output);
  const fail = /^(?:ℹ|#) fail (\d+)$/m.exec(output);
  if (!pass || !fail) return null;
  const skipped =
    Number(/^(?:ℹ|#) skipped (\d+)$/m.exec(output)?.[1] ?? 0) + Number(/^(?:ℹ|#) todo (\d+)$/m.exec(output)?.[1] ?? 0);
  const failures: ParsedTests['failures'] = [];
  const marker = output.indexOf('✖ failing tests:');
  if (marker >= 0) {
    const lines = output.slice(marker).split('\n').slice(1);
    for (let i = 0; i < lines.length && failures.length < MAX_FAILURES; i++) {
      const header = /^✖ (.+?)(?: \([\d.]+m?s\))?$/.exec(lines[i]);
      if (!header) continue;
      const message = (lines[i + 1] ?? '').trim();
      failures.push({ name: header[1], message: clip(message || 'failed') });
    }
  } else {
    const lines = output.split('\n');
    for (let i = 0; i < lines.length && failures.length < MAX_FAILURES; i++) {
      const header = /^(\s*)not ok \d+ - (.+?)(?:\s+#\s*(?:SKIP|TODO).*)?$/.exec(lines[i]);
      if (!header) continue;
      const block = lines.slice(i + 1, i + 40).join('\n');
      if (/^\s*type: 'suite'$/m.test(block.split(/^\s*\.\.\.$/m)[0])) continue;
      const error = /^\s*error: (?:\|-?\n\s*(.+)|(.+))$/m.exec(block);
      failures.push({ name: header[2], message: clip((error?.[1] ?? error?.[2] ?? 'failed').replace(/^'|'$/g, '')) });
    }
  }
  return { runner: 'node:test', passed: Number(pass[1]), failed: Number(fail[1]), skipped, failures };
}
