import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { ValidationFailedError } from '#src/common/errors.js';
import type { AllConfig } from '#src/config/namespaces.js';
import type { TrajectoryKind } from './entities/trajectory-entry.entity.js';
import { decodeBody } from './trajectory-codec.js';

export interface TrajectoryItem {
  seq: number;
  stepId: string | null;
  agent: string;
  iteration: number | null;
  kind: TrajectoryKind;
  request: unknown;
  response: unknown;
  usage?: unknown;
  durationMs: number;
  at: string;
}

interface Row {
  seq: number;
  step_id: string | null;
  agent: string;
  iteration: number | null;
  kind: TrajectoryKind;
  duration_ms: number;
  at: Date;
  body: Buffer;
}

const EXPORT_BATCH = 200;
const RETENTION_BATCH = 5_000;

/** Reads trajectories back (pages and whole exports) and removes the ones past retention. */
@Injectable()
export class TrajectoriesService {
  private readonly logger = new Logger(TrajectoriesService.name);
  private readonly retentionDays: number;

  constructor(
    private readonly dataSource: DataSource,
    config: ConfigService<AllConfig, true>,
  ) {
    this.retentionDays = config.get('observability', { infer: true }).trajectories.retentionDays;
  }

  /** Entries in order (oldest first: a trajectory is read as it happened). */
  async page(
    runId: string,
    limit: number,
    cursor?: string,
  ): Promise<{ items: TrajectoryItem[]; nextCursor: string | null }> {
    const after = cursor === undefined ? 0 : decodeSeqCursor(cursor);
    const rows = await this.rows(runId, after, limit + 1);
    const items = await Promise.all(rows.slice(0, limit).map(toItem));
    const last = items.at(-1);
    return { items, nextCursor: rows.length > limit && last ? encodeSeqCursor(last.seq) : null };
  }

  /** Every entry of the run, read a batch at a time. */
  async *export(runId: string): AsyncGenerator<TrajectoryItem> {
    let after = 0;
    for (;;) {
      const rows = await this.rows(runId, after, EXPORT_BATCH);
      for (const row of rows) yield await toItem(row);
      if (rows.length < EXPORT_BATCH) return;
      after = rows[rows.length - 1].seq;
    }
  }

  /** Deletes entries older than TRAJECTORY_RETENTION_DAYS, in bounded batches; returns how many went. */
  async deleteExpired(now = new Date()): Promise<number> {
    const cutoff = new Date(now.getTime() - this.retentionDays * 86_400_000);
    let total = 0;
    for (;;) {
      const result = await this.dataSource.query<[unknown[], number]>(
        `DELETE FROM trajectory_entries WHERE ctid IN (
           SELECT ctid FROM trajectory_entries WHERE created_at < $1 LIMIT ${RETENTION_BATCH})`,
        [cutoff],
      );
      const deleted = result[1];
      total += deleted;
      if (deleted < RETENTION_BATCH) break;
    }
    if (total > 0)
      this.logger.log({ deleted: total, retentionDays: this.retentionDays }, 'expired trajectory entries removed');
    return total;
  }

  private rows(runId: string, afterSeq: number, limit: number): Promise<Row[]> {
    return this.dataSource.query<Row[]>(
      `SELECT e.seq, e.step_id, e.agent, coalesce(e.iteration, s.iteration) AS iteration, e.kind, e.duration_ms,
              e.at, e.body
         FROM trajectory_entries e
         LEFT JOIN run_steps s ON s.id = e.step_id
        WHERE e.run_id = $1 AND e.seq > $2
        ORDER BY e.seq
        LIMIT $3`,
      [runId, afterSeq, limit],
    );
  }
}

async function toItem(row: Row): Promise<TrajectoryItem> {
  // An entry past the run's limit, or one that could not fit its own, holds a marker instead.
  const body = (await decodeBody(row.body)) as { request?: unknown; response?: unknown; usage?: unknown };
  return {
    seq: row.seq,
    stepId: row.step_id,
    agent: row.agent,
    iteration: row.iteration,
    kind: row.kind,
    request: 'request' in body ? body.request : body,
    response: body.response ?? null,
    ...(body.usage ? { usage: body.usage } : {}),
    durationMs: row.duration_ms,
    at: new Date(row.at).toISOString(),
  };
}

function encodeSeqCursor(seq: number): string {
  return Buffer.from(`t:${seq}`).toString('base64url');
}

function decodeSeqCursor(cursor: string): number {
  const match = /^t:(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new ValidationFailedError([{ field: 'cursor', message: 'is not a cursor this API issued' }]);
  return Number(match[1]);
}
