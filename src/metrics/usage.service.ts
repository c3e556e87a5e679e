import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import type { DataSource, Repository } from 'typeorm';
import type { WriteWithUsage } from '#src/agents/llm/llm.types.js';
import type { AuthUser } from '#src/auth/auth-user.js';
import { ForbiddenError, ValidationFailedError } from '#src/common/errors.js';
import { MembershipsService } from '#src/orgs/memberships.service.js';
import { OrgNotFoundError } from '#src/orgs/orgs.errors.js';
import { UsersService } from '#src/users/users.service.js';
import { LlmUsageRecord } from './entities/llm-usage.entity.js';

/** A usage record to write; calls outside an organization or an API key may leave those out. */
export type NewUsageRecord = Omit<LlmUsageRecord, 'id' | 'createdAt' | 'orgId' | 'apiKeyId'> &
  Partial<Pick<LlmUsageRecord, 'orgId' | 'apiKeyId'>>;

export const USAGE_GROUPS = ['day', 'model', 'agent', 'task', 'provider', 'member', 'apiKey'] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

export interface UsageQuery {
  /** Whose usage: a user's (all of it) or an organization's (its tasks'). */
  userId?: string;
  orgId?: string;
  from?: Date;
  to?: Date;
  groupBy?: UsageGroup;
}

export interface UsageRow {
  key: string | null;
  calls: number;
  inputTokens: number;
  /** Cache reads among `inputTokens`. */
  cachedInputTokens: number;
  /** Cache writes among `inputTokens`. */
  cacheWriteTokens: number;
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
  member: 'u.user_id::text',
  apiKey: 'u.api_key_id::text',
};

const COLUMNS = [
  'user_id',
  'org_id',
  'api_key_id',
  'task_id',
  'run_id',
  'step_id',
  'agent',
  'provider',
  'model',
  'attempt',
  'input_tokens',
  'output_tokens',
  'cached_input_tokens',
  'cache_write_input_tokens',
  'cost_usd',
  'latency_ms',
  'outcome',
  'error_code',
] as const;
const MAX_BATCH = 500;

interface PendingRecord {
  record: NewUsageRecord;
  reservationId: string | null;
  /** A write that commits with the record (see LlmCallRequest.recordWith). */
  also?: WriteWithUsage;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Usage records: one per model-call attempt, and the sums the metrics API reports. */
@Injectable()
export class UsageService {
  private queue: PendingRecord[] = [];
  private flushing: Promise<void> | null = null;

  constructor(
    @InjectRepository(LlmUsageRecord) private readonly records: Repository<LlmUsageRecord>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly users: UsersService,
    private readonly memberships: MembershipsService,
  ) {}

  /**
   * Writes the record and, in the same statement, drops the budget reservation it settles, so a
   * budget check sees either the reservation or the spend, never neither. Resolves once committed.
   *
   * Group commit: a write starts at the end of the event-loop turn (setImmediate), so the records
   * of every call that finished in that turn go in one multi-row INSERT, and records arriving while
   * a write is in flight go out together in the next one. Under load the gateway pays one round
   * trip per batch, not per call (in the gateway bench one write per 9–16 calls; one per 5 when a
   * write started at once), and each caller still waits for its own record to be durable.
   */
  settle(record: NewUsageRecord, reservationId: string | null = null, also?: WriteWithUsage): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ record, reservationId, also, resolve, reject });
      // After this turn's I/O callbacks: every record settled in the same turn goes in one write.
      this.flushing ??= new Promise<void>((started) => setImmediate(started)).then(() => this.drain());
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue.splice(0, MAX_BATCH);
      try {
        await this.write(batch);
        for (const item of batch) item.resolve();
      } catch (error) {
        if (batch.length === 1) {
          batch[0].reject(error);
          continue;
        }
        // One bad record (say, its user was deleted mid-call) must not fail the others: retry alone.
        for (const item of batch) {
          await this.write([item]).then(item.resolve, item.reject);
        }
      }
    }
    this.flushing = null;
  }

  private async write(batch: PendingRecord[]): Promise<void> {
    const params: unknown[] = [];
    const rows = batch.map(({ record }) => {
      const values = [
        record.userId,
        record.orgId ?? null,
        record.apiKeyId ?? null,
        record.taskId,
        record.runId,
        record.stepId,
        record.agent,
        record.provider,
        record.model,
        record.attempt,
        record.inputTokens,
        record.outputTokens,
        record.cachedInputTokens,
        record.cacheWriteInputTokens,
        record.costUsd,
        record.latencyMs,
        record.outcome,
        record.errorCode,
      ];
      const placeholders = values.map((value) => {
        params.push(value);
        return `$${params.length}`;
      });
      return `(${placeholders.join(', ')})`;
    });
    const insert = `INSERT INTO llm_usage (${COLUMNS.join(', ')}) VALUES ${rows.join(', ')}`;
    // One statement is one transaction: the records, the end of their reservations and the writes
    // that go with them commit together, in one round trip instead of BEGIN / … / COMMIT.
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const ctes = batch.flatMap(({ also }, i) => (also ? [`also${i} AS (${also.sql(param)})`] : []));
    const reservations = batch.map((item) => item.reservationId).filter((id): id is string => id !== null);
    if (reservations.length)
      ctes.push(`settled AS (DELETE FROM llm_budget_reservations WHERE id = ANY(${param(reservations)}::uuid[]))`);
    await this.dataSource.query(ctes.length ? `WITH ${ctes.join(', ')} ${insert}` : insert, params);
  }

  /**
   * The usage report of `GET /metrics/usage`: a user sees their own usage; an admin may name any
   * user. Dates without a time are UTC midnights; `to` is exclusive.
   */
  async report(
    actor: Pick<AuthUser, 'id' | 'role' | 'apiKey'>,
    requested: { from?: string; to?: string; groupBy?: UsageGroup; userId?: string; orgId?: string },
  ): Promise<UsageSummary> {
    const query = { ...requested };
    const keyOrgId = actor.apiKey?.orgId ?? null;
    if (keyOrgId) {
      // A key bound to an organization reaches only that organization, its usage included.
      if (query.orgId && query.orgId !== keyOrgId) throw new OrgNotFoundError();
      if (query.userId) throw new ForbiddenError('FORBIDDEN', "An organization's key reads only its usage.");
      query.orgId = keyOrgId;
    }
    if (query.orgId) {
      // Any member (viewer and up) reads the organization's usage; to anyone else it does not exist.
      const role = await this.memberships.roleOf(query.orgId, actor.id);
      if (!role && actor.role !== 'admin') throw new OrgNotFoundError();
    }
    if (query.userId && query.userId !== actor.id) {
      if (actor.role !== 'admin') throw new ForbiddenError('FORBIDDEN', "Only admins may read another user's usage.");
      // An unknown user is a 404, not an empty report that reads as "no spend".
      await this.users.getById(query.userId);
    }
    const from = query.from ? parseInstant(query.from) : undefined;
    const to = query.to ? parseInstant(query.to) : undefined;
    if (from && to && from >= to) throw new ValidationFailedError([{ field: 'to', message: 'must be after from' }]);
    if (query.orgId) return this.summarize({ orgId: query.orgId, from, to, groupBy: query.groupBy });
    return this.summarize({ userId: query.userId ?? actor.id, from, to, groupBy: query.groupBy });
  }

  /** Every user's spend since UTC midnight, per provider (exact decimal strings). */
  async spentTodayByProvider(): Promise<Record<string, string>> {
    const rows = await this.dataSource.query<{ provider: string; spent: string }[]>(
      `SELECT provider, SUM(cost_usd)::numeric(18,8)::text AS spent FROM llm_usage
        WHERE created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' GROUP BY provider`,
    );
    return Object.fromEntries(rows.map((row) => [row.provider, row.spent]));
  }

  async summarize(query: UsageQuery): Promise<UsageSummary> {
    const base = () => {
      const qb = query.orgId
        ? this.records.createQueryBuilder('u').where('u.org_id = :orgId', { orgId: query.orgId })
        : this.records.createQueryBuilder('u').where('u.user_id = :userId', { userId: query.userId });
      if (query.from) qb.andWhere('u.created_at >= :from', { from: query.from });
      if (query.to) qb.andWhere('u.created_at < :to', { to: query.to });
      return qb
        .select('COUNT(*)::int', 'calls')
        .addSelect('COALESCE(SUM(u.input_tokens), 0)::bigint', 'inputTokens')
        .addSelect('COALESCE(SUM(u.cached_input_tokens), 0)::bigint', 'cachedInputTokens')
        .addSelect('COALESCE(SUM(u.cache_write_input_tokens), 0)::bigint', 'cacheWriteTokens')
        .addSelect('COALESCE(SUM(u.output_tokens), 0)::bigint', 'outputTokens')
        .addSelect('COALESCE(SUM(u.cost_usd), 0)::numeric(18,8)', 'costUsd');
    };
    const toRow = (raw: Record<string, string | number | null>): UsageRow => ({
      key: raw.key === undefined || raw.key === null ? null : String(raw.key),
      calls: Number(raw.calls),
      inputTokens: Number(raw.inputTokens),
      cachedInputTokens: Number(raw.cachedInputTokens),
      cacheWriteTokens: Number(raw.cacheWriteTokens),
      outputTokens: Number(raw.outputTokens),
      costUsd: String(raw.costUsd),
    });
    const totalRaw = await base().getRawOne<Record<string, string>>();
    const { key: _key, ...total } = toRow(
      totalRaw ?? {
        calls: 0,
        inputTokens: 0,
        cachedInputTokens: 0,
        cacheWriteTokens: 0,
        outputTokens: 0,
        costUsd: '0.00000000',
      },
    );
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

/** ISO-8601 date or date-time; a bare date or a time without offset is read as UTC. */
function parseInstant(value: string): Date {
  const utc = /^\d{4}-\d{2}-\d{2}$/.test(value)
    ? `${value}T00:00:00Z`
    : /[zZ]|[+-]\d{2}:?\d{2}$/.test(value)
      ? value
      : `${value}Z`;
  return new Date(utc);
}
