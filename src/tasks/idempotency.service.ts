import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { EntityManager } from 'typeorm';
import { RunEventsService } from '#src/agents/runs/run-events.service.js';
import type { AllConfig } from '#src/config/namespaces.js';
import { IdempotencyKey } from './entities/idempotency-key.entity.js';
import { IdempotencyConflictError, InvalidIdempotencyKeyError } from './tasks.errors.js';

export interface IdempotentResponse<T> {
  status: number;
  body: T;
}

/**
 * `Idempotency-Key` for unsafe task requests. The key row is inserted in the same transaction as
 * the work: a concurrent request with the same key blocks on the unique index until the first
 * commits, then reads its stored answer, so the work never runs twice. A failed request rolls the
 * key back with it and may be retried. Expired keys are removed by maintenance (src/maintenance).
 */
@Injectable()
export class IdempotencyService {
  private readonly ttlMs: number;

  constructor(
    private readonly events: RunEventsService,
    config: ConfigService<AllConfig, true>,
  ) {
    this.ttlMs = config.get('agents', { infer: true }).idempotencyTtlMs;
  }

  async execute<T>(
    scope: { userId: string; name: string; key?: string; request: unknown },
    work: (manager: EntityManager) => Promise<IdempotentResponse<T>>,
  ): Promise<IdempotentResponse<T> & { replayed: boolean }> {
    if (scope.key === undefined) return { ...(await this.events.transaction(work)), replayed: false };
    const key = scope.key;
    if (!/^[\x21-\x7e]{1,255}$/.test(key)) throw new InvalidIdempotencyKeyError();
    const requestHash = createHash('sha256').update(stableJson(scope.request)).digest('hex');
    return this.events.transaction(async (manager) => {
      // Expired keys are forgotten first, so reusing one after its lifetime starts afresh.
      await manager.query(
        'DELETE FROM idempotency_keys WHERE user_id = $1 AND scope = $2 AND key = $3 AND expires_at < now()',
        [scope.userId, scope.name, key],
      );
      const inserted: Array<{ id: string }> = await manager.query(
        `INSERT INTO idempotency_keys (user_id, scope, key, request_hash, response_status, response_body, expires_at)
         VALUES ($1, $2, $3, $4, 0, 'null', now() + ($5 || ' milliseconds')::interval)
         ON CONFLICT (user_id, scope, key) DO NOTHING RETURNING id`,
        [scope.userId, scope.name, key, requestHash, String(this.ttlMs)],
      );
      if (inserted.length === 0) {
        const existing = await manager.findOneOrFail(IdempotencyKey, {
          where: { userId: scope.userId, scope: scope.name, key },
        });
        if (existing.requestHash !== requestHash) throw new IdempotencyConflictError();
        return { status: existing.responseStatus, body: existing.responseBody as T, replayed: true };
      }
      const response = await work(manager);
      await manager.update(
        IdempotencyKey,
        { id: inserted[0].id },
        { responseStatus: response.status, responseBody: response.body as object },
      );
      return { ...response, replayed: false };
    });
  }
}

/** JSON with sorted object keys, so `{a,b}` and `{b,a}` are the same request. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
