import type { RunCouncilDto } from './dto/run-council.dto.js';
import type { CouncilReview } from './entities/council-review.entity.js';
import type { CouncilVerdict } from './entities/council-verdict.entity.js';
import { normaliseUsd } from '#src/metrics/money.js';
/** The API shape of a run's latest council review (GET /agents/runs/:id/council). */
export function toRunCouncilDto(
  latest: CouncilVerdict,
  judges: CouncilReview[],
  history: CouncilVerdict[],
): RunCouncilDto {
  const dissenters = new Set(latest.dissent.map((d) => d.judge));
  return {
    runId: latest.runId,
    iteration: latest.iteration,
    verdict: latest.verdict,
    reason: latest.reason,
    ...(latest.vetoedBy ? { vetoedBy: latest.vetoedBy } : {}),
    summary: latest.summary,
    score: latest.score,
    votes: latest.votes,
    dissent: latest.dissent,
    issues: latest.issues,
    judges: judges.map((j) => ({
      judge: j.judge,
      verdict: j.verdict,
      status: j.status,
      summary: j.summary,
      issues: j.issues,
      score: j.score,
      dissent: dissenters.has(j.judge),
      provider: j.provider,
      model: j.model,
      inputTokens: j.inputTokens,
      outputTokens: j.outputTokens,
      costUsd: normaliseUsd(j.costUsd),
      error: j.error,
      stepId: j.stepId,
    })),
    costUsd: normaliseUsd(latest.costUsd),
    iterations: history.map((v) => ({
      iteration: v.iteration,
      verdict: v.verdict,
      reason: v.reason,
      score: v.score,
      costUsd: normaliseUsd(v.costUsd),
      createdAt: v.createdAt.toISOString(),
    })),
    createdAt: latest.createdAt.toISOString(),
  };
}
