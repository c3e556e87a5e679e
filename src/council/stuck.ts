/**
 * Stuck detection: when two consecutive iterations hand the council the same files, or the council
 * finds the same issues twice in a row, another iteration will not help; the run stops with
 * `failed`, reason STUCK, instead of burning its remaining iterations.
 */
import { createHash } from 'node:crypto';
import type { ReviewFile, ReviewIssue } from '#src/agents/graph/review.port.js';
import { normalizeMessage } from './aggregate.js';

/** Order-independent hash of the files (path + content). */
export function filesHash(files: readonly ReviewFile[]): string {
  const hash = createHash('sha256');
  for (const f of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
    hash.update(f.path.replace(/^\.\//, '')).update('\0').update(f.content).update('\0');
  }
  return hash.digest('hex');
}

/** Order-independent hash of the findings: severity, file, line and normalised text of each issue. */
export function findingsHash(issues: readonly ReviewIssue[]): string {
  const keys = issues
    .map((i) => [i.severity, i.file?.replace(/^\.\//, '') ?? '', i.line ?? '', normalizeMessage(i.message)].join('|'))
    .sort();
  return createHash('sha256').update(keys.join('\n')).digest('hex');
}

export interface IterationFingerprint {
  iteration: number;
  filesHash: string;
  findingsHash: string;
  /** Whether the iteration had any findings at all (an empty list repeating is not "stuck"). */
  hasFindings: boolean;
}

export type StuckCause = 'SAME_FILES' | 'SAME_FINDINGS';

/**
 * Compares this iteration with the one right before it. Same files → the coder changed nothing;
 * same (non-empty) findings → the revision did not address them.
 */
export function detectStuck(
  previous: IterationFingerprint | undefined,
  current: IterationFingerprint,
): StuckCause | undefined {
  if (!previous || previous.iteration !== current.iteration - 1) return undefined;
  if (previous.filesHash === current.filesHash) return 'SAME_FILES';
  if (current.hasFindings && previous.hasFindings && previous.findingsHash === current.findingsHash)
    return 'SAME_FINDINGS';
  return undefined;
}
