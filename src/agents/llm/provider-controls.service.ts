import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import type { LocalCache } from '#src/common/local-cache.js';
import type { AllConfig } from '#src/config/namespaces.js';
import { InvalidationBus } from '#src/redis/invalidation-bus.js';
import type { ProviderName } from './llm.types.js';

export interface ProviderControl {
  disabled: boolean;
  forced: boolean;
}

/** The controls in force: per provider, only those an admin changed. */
export type ProviderControls = Partial<Record<ProviderName, ProviderControl>>;

const GLOBAL = 'global';
const NONE: ProviderControls = {};

/**
 * An admin's `disabled` / `forced` switches per provider (`PATCH /admin/providers/:name`), kept
 * in PostgreSQL (`llm_provider_controls`) and read by every routing decision from a per-process
 * copy. A change drops the copy in every process through Redis pub/sub and returns only once its
 * own process got the message back (`InvalidationBus.invalidate`): by then every other live
 * process has dropped its copy too, so the next decision anywhere reads the change. A process
 * whose subscriber is down keeps no copy and reads the table on every decision.
 */
@Injectable()
export class ProviderControlsService {
  private readonly cache: LocalCache<ProviderControls>;
  private loading?: Promise<ProviderControls>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly invalidations: InvalidationBus,
    config: ConfigService<AllConfig, true>,
  ) {
    // The copy's lifetime bounds staleness should a message be lost (as the breaker's copy).
    const ttlMs = Math.max(config.get('llm', { infer: true }).breaker.cacheMs, 1_000) * 10;
    this.cache = invalidations.cache<ProviderControls>('llm-provider-controls', { ttlMs });
  }

  /** The global controls; from memory in the common case. */
  current(): ProviderControls | Promise<ProviderControls> {
    return this.cache.get(GLOBAL) ?? this.load();
  }

  /** Changes a provider's switches; `audit` writes its record in the same transaction. */
  async set(
    provider: ProviderName,
    change: Partial<ProviderControl>,
    actorId: string | null,
    audit?: (manager: EntityManager, after: ProviderControl) => Promise<void>,
  ): Promise<ProviderControl> {
    const result = await this.dataSource.transaction(async (manager) => {
      // Serialise changes: forcing one provider un-forces the others in the same transaction.
      await manager.query(`SELECT pg_advisory_xact_lock(hashtext('llm_provider_controls'))`);
      if (change.forced) {
        await manager.query(
          `UPDATE llm_provider_controls SET forced = false, updated_by = $2, updated_at = now()
             WHERE org_id IS NULL AND forced AND provider <> $1`,
          [provider, actorId],
        );
      }
      const rows = await manager.query<{ disabled: boolean; forced: boolean }[]>(
        `INSERT INTO llm_provider_controls (org_id, provider, disabled, forced, updated_by)
           VALUES (NULL, $1, COALESCE($2, false), COALESCE($3, false), $4)
         ON CONFLICT (COALESCE(org_id, '00000000-0000-0000-0000-000000000000'::uuid), provider) DO UPDATE SET
           disabled = COALESCE($2, llm_provider_controls.disabled),
           forced = COALESCE($3, llm_provider_controls.forced),
           updated_by = $4, updated_at = now()
         RETURNING disabled, forced`,
        [provider, change.disabled ?? null, change.forced ?? null, actorId],
      );
      await audit?.(manager, { disabled: rows[0].disabled, forced: rows[0].forced });
      return rows[0];
    });
    await this.invalidations.invalidate(this.cache, GLOBAL);
    return { disabled: result.disabled, forced: result.forced };
  }

  private load(): Promise<ProviderControls> {
    // Concurrent decisions after an invalidation share one read.
    return (this.loading ??= (async () => {
      const token = this.cache.token();
      try {
        const rows = await this.dataSource.query<{ provider: ProviderName; disabled: boolean; forced: boolean }[]>(
          'SELECT provider, disabled, forced FROM llm_provider_controls WHERE org_id IS NULL',
        );
        const controls: ProviderControls = rows.length ? {} : NONE;
        for (const row of rows) controls[row.provider] = { disabled: row.disabled, forced: row.forced };
        this.cache.set(GLOBAL, controls, token);
        return controls;
      } finally {
        this.loading = undefined;
      }
    })());
  }
}
