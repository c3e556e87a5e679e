import { Injectable } from '@nestjs/common';
import { AuditClient, AuditService, userActor } from '#src/audit/audit.service.js';
import { ConflictError, NotFoundError, ValidationFailedError } from '#src/common/errors.js';
import { UsageService } from '#src/metrics/usage.service.js';
import { CircuitBreakerService } from '../circuit-breaker.service.js';
import { LatencyTrackerService } from '../latency-tracker.service.js';
import { PROVIDERS, ProviderName } from '../llm.types.js';
import { ModelRouter } from '../model-router.js';
import { ProviderControlsService } from '../provider-controls.service.js';
import type { ProviderView, UpdateProviderDto } from './provider-admin.dto.js';

/** The admin's view of the providers and their switches (`/admin/providers`). */
@Injectable()
export class ProviderAdminService {
  constructor(
    private readonly controls: ProviderControlsService,
    private readonly router: ModelRouter,
    private readonly breaker: CircuitBreakerService,
    private readonly latency: LatencyTrackerService,
    private readonly usage: UsageService,
    private readonly audit: AuditService,
  ) {}

  async list(): Promise<ProviderView[]> {
    const [controls, spent] = await Promise.all([this.controls.current(), this.usage.spentTodayByProvider()]);
    return Promise.all(
      PROVIDERS.map(async (name) => {
        const [breaker, latency] = await Promise.all([this.breaker.state(name), this.latency.providerStats(name)]);
        return {
          name,
          enabled: this.router.isConfigured(name),
          disabled: controls[name]?.disabled ?? false,
          forced: controls[name]?.forced ?? false,
          breaker,
          latencyP50Ms: latency?.p50Ms ?? null,
          latencyP95Ms: latency?.p95Ms ?? null,
          spentTodayUsd: spent[name] ?? '0.00000000',
        };
      }),
    );
  }

  async update(name: string, change: UpdateProviderDto, actorId: string, client: AuditClient): Promise<ProviderView> {
    if (!(PROVIDERS as readonly string[]).includes(name)) throw new NotFoundError('Provider', 'PROVIDER_NOT_FOUND');
    const provider = name as ProviderName;
    if (change.disabled === undefined && change.forced === undefined) {
      throw new ValidationFailedError([{ field: 'disabled', message: 'give disabled or forced' }]);
    }
    if (change.disabled && change.forced) {
      throw new ValidationFailedError([{ field: 'forced', message: 'a disabled provider cannot be forced' }]);
    }
    if (change.forced && !this.router.isConfigured(provider)) {
      throw new ConflictError('PROVIDER_NOT_CONFIGURED', `${provider} is not configured, so it cannot be forced.`);
    }
    const current = await this.controls.current();
    if (change.forced && current[provider]?.disabled && change.disabled !== false) {
      throw new ConflictError('PROVIDER_DISABLED', `${provider} is disabled; enable it before forcing it.`);
    }
    await this.controls.set(provider, change, actorId, (manager, after) =>
      this.audit.record(
        {
          actor: userActor(actorId),
          action: 'llm.provider_updated',
          target: { type: 'llm_provider', id: null },
          ...client,
          data: { provider, change: { ...change }, after },
        },
        manager,
      ),
    );
    const view = (await this.list()).find((item) => item.name === provider);
    if (!view) throw new NotFoundError('Provider', 'PROVIDER_NOT_FOUND');
    return view;
  }
}
