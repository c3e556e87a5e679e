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

/** The cache key (and `scope()` argument) of the deployment-wide switches. */
export const GLOBAL_SCOPE = 'global';
const GLOBAL = GLOBAL_SCOPE;
const NONE: ProviderControls = {};

/**
 * An admin's `disabled` / `forced` switches per provider (`PATCH /admin/providers/:name`), and an
 * organization admin's for their organization (`PATCH /orgs/:id/providers/:name`), kept in
 * PostgreSQL (`llm_provider_controls`, org_id null for the global row) and read by every routing
 * decision from a per-process copy per scope. A change drops the copy in every process through
 * Redis pub/sub and returns only once its own process got the message back
 * (`InvalidationBus.invalidate`): by then every other live process has dropped its copy too, so the
 * next decision anywhere reads the change. A process whose subscriber is down keeps no copy and
 * reads the table on every decision.
 *
 * For a call charged to an organization the two scopes combine (`combine`): a provider disabled
 * by either is skipped (an organization cannot enable what the admin disabled); the
 * organization's forced provider wins over the admin's, unless the admin disabled it.
 */
@Injectable()
export class ProviderControlsService {
  private readonly cache: LocalCache<ProviderControls>;
  private readonly loading = new Map<string, Promise<ProviderControls>>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly invalidations: InvalidationBus,
    config: ConfigService<AllConfig, true>,
  ) {
    // The copy's lifetime bounds staleness should a message be lost (as the breaker's copy).
    const ttlMs = Math.max(config.get('llm', { infer: true }).breaker.cacheMs, 1_000) * 10;
    this.cache = invalidations.cache<ProviderControls>('llm-provider-controls', { ttlMs });
  }

  /**
   * The controls in force for a call: the global ones, combined with its organization's when it is
   * charged to one. From memory in the common case.
   */
  current(orgId?: string | null): ProviderControls | Promise<ProviderControls> {
    const global = this.scope(GLOBAL);
    if (!orgId) return global;
    const org = this.scope(orgId);
    if (!(global instanceof Promise) && !(org instanceof Promise)) return combine(global, org);
    return Promise.all([global, org]).then(([g, o]) => combine(g, o));
  }

  /** One scope's own switches (the global row set, or one organization's), uncombined. */
  scope(orgId: string): ProviderControls | Promise<ProviderControls> {
    return this.cache.get(orgId) ?? this.load(orgId);
  }

  /**
   * Changes a provider's switches, globally (`orgId` null) or for one organization; forcing one
   * provider un-forces the others of the same scope. `audit` writes its record in the same
   * transaction.
   */
  async set(
    provider: ProviderName,
    change: Partial<ProviderControl>,
    actorId: string | null,
    audit?: (manager: EntityManager, after: ProviderControl) => Promise<void>,
    orgId: string | null = null,
  ): Promise<ProviderControl> {
    const result = await this.dataSource.transaction(async (manager) => {
      // Serialise changes of one scope.
      await manager.query(`SELECT pg_advisory_xact_lock(hashtext('llm_provider_controls:' || $1))`, [orgId ?? GLOBAL]);
      if (change.forced) {
        await manager.query(
          `UPDATE llm_provider_controls SET forced = false, updated_by = $2, updated_at = now()
             WHERE org_id IS NOT DISTINCT FROM $3 AND forced AND provider <> $1`,
          [provider, actorId, orgId],
        );
      }
      const rows = await manager.query<{ disabled: boolean; forced: boolean }[]>(
        `INSERT INTO llm_provider_controls (org_id, provider, disabled, forced, updated_by)
           VALUES ($5, $1, COALESCE($2, false), COALESCE($3, false), $4)
         ON CONFLICT (COALESCE(org_id, '00000000-0000-0000-0000-000000000000'::uuid), provider) DO UPDATE SET
           disabled = COALESCE($2, llm_provider_controls.disabled),
           forced = COALESCE($3, llm_provider_controls.forced),
           updated_by = $4, updated_at = now()
         RETURNING disabled, forced`,
        [provider, change.disabled ?? null, change.forced ?? null, actorId, orgId],
      );
      await audit?.(manager, { disabled: rows[0].disabled, forced: rows[0].forced });
      return rows[0];
    });
    await this.invalidations.invalidate(this.cache, orgId ?? GLOBAL);
    return { disabled: result.disabled, forced: result.forced };
  }

  private load(key: string): Promise<ProviderControls> {
    // Concurrent decisions after an invalidation share one read.
    let pending = this.loading.get(key);
    if (pending) return pending;
    pending = (async () => {
      const token = this.cache.token();
      try {
        const rows = await this.dataSource.query<{ provider: ProviderName; disabled: boolean; forced: boolean }[]>(
          key === GLOBAL
            ? 'SELECT provider, disabled, forced FROM llm_provider_controls WHERE org_id IS NULL'
            : 'SELECT provider, disabled, forced FROM llm_provider_controls WHERE org_id = $1',
          key === GLOBAL ? [] : [key],
        );
        const controls: ProviderControls = rows.length ? {} : NONE;
        for (const row of rows) controls[row.provider] = { disabled: row.disabled, forced: row.forced };
        this.cache.set(key, controls, token);
        return controls;
      } finally {
        this.loading.delete(key);
      }
    })();
    this.loading.set(key, pending);
    return pending;
  }
}

/** The global switches and an organization's, as one set (see the class comment). */
export function combine(global: ProviderControls, org: ProviderControls): ProviderControls {
  if (org === NONE || !Object.keys(org).length) return global;
  const names = new Set([...Object.keys(global), ...Object.keys(org)] as ProviderName[]);
  const disabled = (name: ProviderName) => !!(global[name]?.disabled || org[name]?.disabled);
  const orgForced = [...names].find((name) => org[name]?.forced && !disabled(name));
  const combined: ProviderControls = {};
  for (const name of names) {
    combined[name] = {
      disabled: disabled(name),
      forced: orgForced ? name === orgForced : !!global[name]?.forced && !disabled(name),
    };
  }
  return combined;
}
