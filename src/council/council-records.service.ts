import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LessThan, Repository } from 'typeorm';
import type { JudgeVerdict, Verdict } from '#src/agents/graph/review.port.js';
import type { AggregateResult, CouncilIssue } from './aggregate.js';
import type { RunCouncilDto } from './dto/run-council.dto.js';
import { CouncilReview } from './entities/council-review.entity.js';
import { CouncilVerdict } from './entities/council-verdict.entity.js';
import { toRunCouncilDto } from './council.view.js';
import { addMoney, normaliseUsd } from '#src/metrics/money.js';
import type { IterationFingerprint, StuckCause } from './stuck.js';

export interface RunScope {
  userId: string;
  taskId: string;
  runId: string;
  iteration: number;
}

/** The council's tables: judges' reviews and the aggregate per iteration, with intent-named queries. */
@Injectable()
export class CouncilRecordsService {
  constructor(
    @InjectRepository(CouncilReview) private readonly reviews: Repository<CouncilReview>,
    @InjectRepository(CouncilVerdict) private readonly verdicts: Repository<CouncilVerdict>,
  ) {}

  /** Upsert: a run resumed after a crash re-reviews the same iteration and overwrites its row. */
  async saveJudgeReview(
    scope: RunScope,
    judge: JudgeVerdict & { issues: CouncilIssue[] },
    extra: { seat: number; filesHash: string; stepId?: string; latencyMs?: number },
  ): Promise<void> {
    await this.reviews.upsert(
      {
        runId: scope.runId,
        userId: scope.userId,
        taskId: scope.taskId,
        iteration: scope.iteration,
        judge: judge.judge,
        seat: extra.seat,
        filesHash: extra.filesHash,
        stepId: extra.stepId ?? null,
        provider: judge.provider ?? null,
        model: judge.model ?? null,
        status: judge.status,
        verdict: judge.verdict ?? null,
        summary: judge.summary,
        issues: judge.issues,
        score: judge.score ?? null,
        inputTokens: judge.inputTokens ?? 0,
        outputTokens: judge.outputTokens ?? 0,
        costUsd: judge.costUsd ?? '0',
        latencyMs: extra.latencyMs ?? null,
        error: judge.error ?? null,
      },
      { conflictPaths: ['runId', 'iteration', 'judge'] },
    );
  }

  async saveVerdict(
    scope: RunScope & { mode: 'build' | 'review' },
    result: AggregateResult & { verdict: Verdict | null },
    fingerprint: IterationFingerprint,
    stuckCause: StuckCause | undefined,
    costUsd: string,
  ): Promise<void> {
    await this.verdicts.upsert(
      {
        runId: scope.runId,
        userId: scope.userId,
        taskId: scope.taskId,
        iteration: scope.iteration,
        mode: scope.mode,
        verdict: result.verdict,
        reason: result.reason,
        vetoedBy: result.vetoedBy ?? null,
        summary: result.summary,
        votes: result.votes,
        dissent: result.dissent,
        issues: result.issues,
        score: result.score ?? null,
        filesHash: fingerprint.filesHash,
        findingsHash: fingerprint.findingsHash,
        hasFindings: fingerprint.hasFindings,
        stuckCause: stuckCause ?? null,
        costUsd,
      },
      { conflictPaths: ['runId', 'iteration'] },
    );
  }

  /**
   * Judges that already answered this iteration on these same files: a review re-run after a worker
   * crash takes their verdicts instead of paying them again.
   */
  async answeredJudges(runId: string, iteration: number, filesHash: string): Promise<JudgeVerdict[]> {
    const rows = await this.reviews.find({
      where: { runId, iteration, filesHash, status: 'completed' },
      order: { seat: 'ASC' },
    });
    return rows.map((row) => ({
      judge: row.judge,
      status: 'completed' as const,
      ...(row.provider ? { provider: row.provider } : {}),
      ...(row.model ? { model: row.model } : {}),
      ...(row.verdict ? { verdict: row.verdict } : {}),
      summary: row.summary,
      issues: row.issues,
      ...(row.score !== null ? { score: row.score } : {}),
      inputTokens: row.inputTokens,
      outputTokens: row.outputTokens,
      costUsd: normaliseUsd(row.costUsd),
    }));
  }

  /** The fingerprint of the latest earlier iteration of the run, for stuck detection. */
  async previousFingerprint(runId: string, iteration: number): Promise<IterationFingerprint | undefined> {
    const row = await this.verdicts.findOne({
      where: { runId, iteration: LessThan(iteration) },
      order: { iteration: 'DESC' },
    });
    return row
      ? {
          iteration: row.iteration,
          filesHash: row.filesHash,
          findingsHash: row.findingsHash,
          hasFindings: row.hasFindings,
        }
      : undefined;
  }

  /** What the council already spent in this run's earlier iterations (USD). */
  async spentInRun(runId: string, beforeIteration: number): Promise<string> {
    const rows = await this.reviews.find({
      select: { costUsd: true },
      where: { runId, iteration: LessThan(beforeIteration) },
    });
    return addMoney(...rows.map((r) => r.costUsd));
  }

  /** The latest council review of a run with its judges and the run's council history; null when none yet. */
  async runCouncil(runId: string): Promise<RunCouncilDto | null> {
    const history = await this.verdictHistory(runId);
    const latest = history.at(-1);
    if (!latest) return null;
    return toRunCouncilDto(latest, await this.judgeReviews(runId, latest.iteration), history);
  }

  async latestVerdict(runId: string): Promise<CouncilVerdict | null> {
    return this.verdicts.findOne({ where: { runId }, order: { iteration: 'DESC' } });
  }

  async verdictHistory(runId: string): Promise<CouncilVerdict[]> {
    return this.verdicts.find({ where: { runId }, order: { iteration: 'ASC' } });
  }

  async judgeReviews(runId: string, iteration: number): Promise<CouncilReview[]> {
    return this.reviews.find({ where: { runId, iteration }, order: { seat: 'ASC' } });
  }
}
