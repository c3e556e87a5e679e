/**
 * How the council decides (docs/council.md "Aggregation"):
 *
 * 1. Only judges that completed vote; failed and skipped judges are listed but do not count.
 *    Fewer voters than `minJudges` → no decision (`NO_QUORUM`).
 * 2. Veto: a `critical` issue from a veto judge (default: security), or a REJECT from one, decides
 *    on its own: the verdict is `vetoVerdict` (default REVISE: back to the coder; the run fails after
 *    its last iteration), whatever the others said.
 * 3. Otherwise a strict majority of the voters (more than half) decides; no majority (a tie, or a
 *    three-way split) gives `tieVerdict` (default REVISE).
 * 4. APPROVE requires passing tests (`requirePassingTests`): when tests ran and any failed, or none
 *    passed, an APPROVE becomes REVISE (`TESTS_FAILING`). Review-only tasks run no tests.
 *
 * Every judge's verdict is kept; those who voted against the outcome are the dissent.
 */
import type { JudgeVerdict, ReviewIssue, Severity, Verdict } from '#src/agents/graph/review.port.js';

export interface AggregationOptions {
  /** Judges whose critical finding or REJECT vetoes the council. */
  vetoJudges: string[];
  vetoVerdict: Exclude<Verdict, 'APPROVE'>;
  tieVerdict: Exclude<Verdict, 'APPROVE'>;
  requirePassingTests: boolean;
  minJudges: number;
}

export const DEFAULT_AGGREGATION: AggregationOptions = {
  vetoJudges: ['security'],
  vetoVerdict: 'REVISE',
  tieVerdict: 'REVISE',
  requirePassingTests: true,
  minJudges: 1,
};

export type AggregateReason = 'VETO' | 'MAJORITY' | 'TIE' | 'TESTS_FAILING' | 'NO_QUORUM' | 'STUCK';

export interface CouncilIssue extends ReviewIssue {
  /** The first judge that raised it. */
  judge: string;
  /** Every judge that raised this issue (the merged duplicates). */
  judges: string[];
}

export interface Dissent {
  judge: string;
  verdict: Verdict;
}

export interface AggregateResult {
  /** `null` only with NO_QUORUM: nobody voted. */
  verdict: Verdict | null;
  reason: AggregateReason;
  /** Which judge vetoed (reason VETO). */
  vetoedBy?: string;
  votes: Record<Verdict, number>;
  dissent: Dissent[];
  issues: CouncilIssue[];
  score?: number;
  summary: string;
}

export const SEVERITY_RANK: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

/** Deductions per issue when a judge gives no score: 10 − 4·critical − 1.5·warning − 0.25·info, floored at 0. */
export const SEVERITY_PENALTY: Record<Severity, number> = { critical: 4, warning: 1.5, info: 0.25 };

export interface TestsSummary {
  passed: number;
  failed: number;
  /** Set when a test command's exit code decided and its runner's counts are unknown. */
  ok?: boolean;
}

export function testsPass(tests: TestsSummary | undefined): boolean {
  return tests === undefined || (tests.ok ?? (tests.failed === 0 && tests.passed > 0));
}

export function aggregate(
  judges: readonly JudgeVerdict[],
  options: AggregationOptions = DEFAULT_AGGREGATION,
  tests?: TestsSummary,
): AggregateResult {
  const voters = judges.filter(
    (j): j is JudgeVerdict & { verdict: Verdict } => j.status === 'completed' && !!j.verdict,
  );
  const votes: Record<Verdict, number> = { APPROVE: 0, REVISE: 0, REJECT: 0 };
  for (const v of voters) votes[v.verdict] += 1;
  const issues = mergeIssues(judges);
  const score = councilScore(judges);

  let verdict: Verdict | null;
  let reason: AggregateReason;
  let vetoedBy: string | undefined;

  const veto = voters.find(
    (j) =>
      options.vetoJudges.includes(j.judge) &&
      (j.verdict === 'REJECT' || j.issues.some((i) => i.severity === 'critical')),
  );
  if (voters.length < Math.max(1, options.minJudges)) {
    verdict = null;
    reason = 'NO_QUORUM';
  } else if (veto) {
    verdict = options.vetoVerdict;
    reason = 'VETO';
    vetoedBy = veto.judge;
  } else {
    const majority = (Object.keys(votes) as Verdict[]).find((v) => votes[v] * 2 > voters.length);
    verdict = majority ?? options.tieVerdict;
    reason = majority ? 'MAJORITY' : 'TIE';
  }
  if (verdict === 'APPROVE' && options.requirePassingTests && !testsPass(tests)) {
    verdict = 'REVISE';
    reason = 'TESTS_FAILING';
  }

  const dissent =
    verdict === null
      ? []
      : voters.filter((j) => j.verdict !== verdict).map((j) => ({ judge: j.judge, verdict: j.verdict }));
  return {
    verdict,
    reason,
    ...(vetoedBy ? { vetoedBy } : {}),
    votes,
    dissent,
    issues,
    ...(score !== undefined ? { score } : {}),
    summary: summarize(verdict, reason, votes, judges, dissent, vetoedBy, tests),
  };
}

function summarize(
  verdict: Verdict | null,
  reason: AggregateReason,
  votes: Record<Verdict, number>,
  judges: readonly JudgeVerdict[],
  dissent: Dissent[],
  vetoedBy: string | undefined,
  tests: TestsSummary | undefined,
): string {
  const tally = `${votes.APPROVE} approve, ${votes.REVISE} revise, ${votes.REJECT} reject`;
  const absent = judges.filter((j) => j.status !== 'completed').map((j) => `${j.judge} ${j.status}`);
  const parts: string[] = [];
  switch (reason) {
    case 'NO_QUORUM':
      parts.push(`No decision: not enough judges completed (${tally}).`);
      break;
    case 'VETO':
      parts.push(`${verdict} by ${vetoedBy} veto (${tally}).`);
      break;
    case 'TIE':
      parts.push(`${verdict}: no majority (${tally}).`);
      break;
    case 'TESTS_FAILING':
      parts.push(
        `REVISE: judges approved (${tally}) but the tests do not pass (${tests?.passed ?? 0} passed, ${tests?.failed ?? 0} failed).`,
      );
      break;
    default:
      parts.push(`${verdict} by majority (${tally}).`);
  }
  if (dissent.length) parts.push(`Dissent: ${dissent.map((d) => `${d.judge} ${d.verdict}`).join(', ')}.`);
  if (absent.length) parts.push(`Not voting: ${absent.join(', ')}.`);
  return parts.join(' ');
}

/** Lower-case, punctuation to spaces, whitespace collapsed: the text two judges' duplicates share. */
export function normalizeMessage(message: string): string {
  return message
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[`'"“”‘’]/g, '')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

function tokens(text: string): Set<string> {
  return new Set(text.split(' ').filter((t) => t.length > 2));
}

/** Jaccard similarity of the significant words of two normalised messages (0..1). */
export function similarity(a: string, b: string): number {
  if (a === b) return 1;
  const ta = tokens(a);
  const tb = tokens(b);
  if (ta.size === 0 || tb.size === 0) return 0;
  let common = 0;
  for (const t of ta) if (tb.has(t)) common += 1;
  return common / (ta.size + tb.size - common);
}

/** Two messages on the same file and line with at least this similarity are one issue. */
export const SIMILARITY_THRESHOLD = 0.5;

/**
 * Merges the judges' issues: same file + same line + similar text (or identical text) → one issue
 * carrying the highest severity and every judge that raised it; sorted most severe first, then by
 * how many judges agree, then file and line.
 */
export function mergeIssues(judges: readonly Pick<JudgeVerdict, 'judge' | 'issues'>[]): CouncilIssue[] {
  const merged: (CouncilIssue & { norm: string })[] = [];
  for (const j of judges) {
    for (const issue of j.issues) {
      const norm = normalizeMessage(issue.message);
      const file = issue.file?.trim().replace(/^\.\//, '') || undefined;
      const existing = merged.find(
        (m) =>
          m.file === file &&
          m.line === issue.line &&
          (m.norm === norm || similarity(m.norm, norm) >= SIMILARITY_THRESHOLD),
      );
      if (existing) {
        if (SEVERITY_RANK[issue.severity] < SEVERITY_RANK[existing.severity]) {
          existing.severity = issue.severity;
          existing.message = issue.message;
        }
        if (!existing.judges.includes(j.judge)) existing.judges.push(j.judge);
        continue;
      }
      merged.push({
        severity: issue.severity,
        ...(file ? { file } : {}),
        ...(issue.line !== undefined ? { line: issue.line } : {}),
        message: issue.message.trim(),
        judge: j.judge,
        judges: [j.judge],
        norm,
      });
    }
  }
  return merged
    .sort(
      (a, b) =>
        SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
        b.judges.length - a.judges.length ||
        (a.file ?? '\uffff').localeCompare(b.file ?? '\uffff') ||
        (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER),
    )
    .map(({ norm: _norm, ...issue }) => ({ ...issue, judge: issue.judges[0] }));
}

/** A judge's score from its issues when it gives none (see SEVERITY_PENALTY), one decimal. */
export function scoreFromIssues(issues: readonly ReviewIssue[]): number {
  const penalty = issues.reduce((sum, i) => sum + SEVERITY_PENALTY[i.severity], 0);
  return round1(Math.max(0, 10 - penalty));
}

export function judgeScore(judge: Pick<JudgeVerdict, 'score' | 'issues'>): number {
  return judge.score !== undefined ? round1(judge.score) : scoreFromIssues(judge.issues);
}

/** Mean of the completed judges' scores (given or derived), one decimal; undefined when none completed. */
export function councilScore(judges: readonly JudgeVerdict[]): number | undefined {
  const scored = judges.filter((j) => j.status === 'completed');
  if (scored.length === 0) return undefined;
  return round1(scored.reduce((sum, j) => sum + judgeScore(j), 0) / scored.length);
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
