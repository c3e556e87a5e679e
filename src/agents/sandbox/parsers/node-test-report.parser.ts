import { clip, MAX_FAILURES, type ParsedTests } from './parsed-tests.js';

interface ReportLine {
  type: 'pass' | 'fail' | 'stderr';
  name?: string;
  nesting?: number;
  file?: string | null;
  suite?: boolean;
  skip?: boolean;
  todo?: boolean;
  failureType?: string | null;
  message?: string | null;
  text?: string;
}

interface Pending {
  name: string;
  depth: number;
  outcome: 'passed' | 'failed' | 'skipped';
  message: string;
}

/**
 * Parses the JSON-lines report of our `node --test` reporter (runners/node-test-reporter.ts).
 * Counts leaf tests only: a test or suite whose subtests were reported is a container, not a test
 * (events arrive children-first, per file), except that a container failing for its own reason (a
 * hook, code after its subtests) is a failure too. A failing test file that never reported a test
 * (a syntax error, a crash) counts as one failure carrying what the file printed on stderr.
 */
export function parseNodeTestReport(report: string): ParsedTests {
  const byFile = new Map<string, Pending[]>();
  const stderrByFile = new Map<string, string>();
  const done: Pending[] = [];

  for (const raw of report.split('\n')) {
    const line = parseLine(raw);
    if (!line) continue;
    const file = line.file ?? '';
    if (line.type === 'stderr') {
      const before = stderrByFile.get(file) ?? '';
      if (before.length < 8000) stderrByFile.set(file, before + (line.text ?? ''));
      continue;
    }
    const depth = line.nesting ?? 0;
    const name = line.name ?? '(unnamed)';
    const pending = byFile.get(file) ?? [];
    byFile.set(file, pending);
    let children = 0;
    for (const item of pending) {
      if (item.depth === depth + 1) {
        item.name = `${name} > ${item.name}`;
        item.depth = depth;
        children++;
      }
    }
    const failed = line.type === 'fail' && !line.todo;
    if (children > 0) {
      // A container: its own failure counts only when it is not just "a subtest failed".
      if (failed && line.failureType !== 'subtestsFailed') {
        pending.push({ name, depth, outcome: 'failed', message: line.message ?? 'failed' });
      }
    } else {
      const outcome = line.skip || line.todo ? 'skipped' : failed ? 'failed' : 'passed';
      let message = line.message ?? '';
      if (outcome === 'failed' && depth === 0 && message === 'test failed' && stderrByFile.get(file)) {
        message = `${message}\n${stderrByFile.get(file)}`;
      }
      pending.push({ name, depth, outcome, message });
    }
    if (depth === 0) {
      done.push(...pending);
      pending.length = 0;
    }
  }
  for (const rest of byFile.values()) done.push(...rest);

  const result: ParsedTests = { passed: 0, failed: 0, skipped: 0, failures: [] };
  for (const item of done) {
    result[item.outcome]++;
    if (item.outcome === 'failed' && result.failures.length < MAX_FAILURES) {
      result.failures.push({ name: clip(item.name, 500), message: clip(item.message.trim()) });
    }
  }
  return result;
}

function parseLine(raw: string): ReportLine | undefined {
  const text = raw.trim();
  if (!text.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(text) as ReportLine;
    return value && (value.type === 'pass' || value.type === 'fail' || value.type === 'stderr') ? value : undefined;
  } catch {
    return undefined;
  }
}
