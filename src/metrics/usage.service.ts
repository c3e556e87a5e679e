import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { EntityManager, Repository } from 'typeorm';
import { LlmUsageRecord } from './entities/llm-usage.entity.js';

export type NewUsageRecord = Omit<LlmUsageRecord, 'id' | 'createdAt'>;

export const USAGE_GROUPS = ['day', 'model', 'agent', 'task', 'provider'] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

export interface UsageQuery {
  userId: string;
  from?: Date;
  to?: Date;
  groupBy?: UsageGroup;
}

export interface UsageRow {
  key: string | null;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: string;
}

export interface UsageSummary {
  items: UsageRow[];
  total: Omit<UsageRow, 'key'>;
}

/** Allowlisted grouping expressions: the query never interpolates user input. */
const GROUP_EXPRESSIONS: Record<UsageGroup, string> = {
  day: `to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  model: `u.provider || ':' || u.model`,
  agent: 'u.agent',
  task: 'u.task_id::text',
  provider: 'u.provider',
};

/** Usage records: one per model-call attempt, and the sums the metrics API reports. */
@Injectable()
export class UsageService {
  constructor(@InjectRepository(LlmUsageRecord) private readonly records: Repository<LlmUsageRecord>) {}

  async record(record: NewUsageRecord, manager?: EntityManager): Promise<void> {
    const repository = manager ? manager.getRepository(LlmUsageRecord) : this.records;
    await repository.insert(record);
  }

  async listForRun(runId: string): Promise<LlmUsageRecord[]> {
    return this.records.find({ where: { runId }, order: { createdAt: 'ASC' } });
  }

  /** Tokens and cost of a run so far (what run events report). */
  async totalsForRun(runId: string): Promise<{ inputTokens: number; outputTokens: number; costUsd: string }> {
    const row = await this.records
      .createQueryBuilder('u')
      .select('COALESCE(SUM(u.input_tokens), 0)::bigint', 'inputTokens')
      .addSelect('COALESCE(SUM(u.output_tokens), 0)::bigint', 'outputTokens')
      .addSelect('COALESCE(SUM(u.cost_usd), 0)::numeric(18,8)', 'costUsd')
      .where('u.run_id = :runId', { runId })
      .getRawOne<{ inputTokens: string; outputTokens: string; costUsd: string }>();
    return { inputTokens: Number(row?.inputTokens ?? 0), outputTokens: Number(row?.outputTokens ?? 0), costUsd: row?.costUsd ?? '0.00000000' };
  }

  async summarize(query: UsageQuery): Promise<UsageSummary> {
    const base = () => {
      const qb = this.records.createQueryBuilder('u').where('u.user_id = :userId', { userId: query.userId });
      if (query.from) qb.andWhere('u.created_at >= :from', { from: query.from });
      if (query.to) qb.andWhere('u.created_at < :to', { to: query.to });
      return qb
        .select('COUNT(*)::int', 'calls')
        .addSelect('COALESCE(SUM(u.input_tokens), 0)::bigint', 'inputTokens')
        .addSelect('COALESCE(SUM(u.output_tokens), 0)::bigint', 'outputTokens')
        .addSelect('COALESCE(SUM(u.cost_usd), 0)::numeric(18,8)', 'costUsd');
    };
    const toRow = (raw: Record<string, string | number | null>): UsageRow => ({
      key: raw.key === undefined || raw.key === null ? null : String(raw.key),
      calls: Number(raw.calls),
      inputTokens: Number(raw.inputTokens),
      outputTokens: Number(raw.outputTokens),
      costUsd: String(raw.costUsd),
    });
    const totalRaw = await base().getRawOne<Record<string, string>>();
    const { key: _key, ...total } = toRow(totalRaw ?? { calls: 0, inputTokens: 0, outputTokens: 0, costUsd: '0.00000000' });
    if (!query.groupBy) return { items: [], total };
    const expression = GROUP_EXPRESSIONS[query.groupBy];
    const rows = await base()
      .addSelect(expression, 'key')
      .groupBy(expression)
      .orderBy(expression, 'ASC', 'NULLS LAST')
      .getRawMany<Record<string, string>>();
    return { items: rows.map(toRow), total };
  }
}
