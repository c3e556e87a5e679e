import { Injectable } from '@nestjs/common';
import { AuditActor, AuditClient, AuditService, userActor } from '#src/audit/audit.service.js';
import { ConflictError, NotFoundError, ValidationFailedError } from '#src/common/errors.js';
import { UsageService } from '#src/metrics/usage.service.js';
import { CircuitBreakerService } from '../circuit-breaker.service.js';
import { LatencyTrackerService } from '../latency-tracker.service.js';
import { PROVIDERS, ProviderName } from '../llm.types.js';
import { ModelRouter } from '../model-router.js';
import { GLOBAL_SCOPE, ProviderControlsService } from '../provider-controls.service.js';
import type { OrgProviderView, ProviderView, UpdateProviderDto } from './provider-admin.dto.js';

/**
 * The providers and their switches: the deployment admin's (`/admin/providers`) and an
 * organization admin's for their organization (`/orgs/:id/providers`).
 */
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
    const provider = this.checked(name, change);
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

  /** An organization's own switches, with what the deployment admin disabled for everyone. */
  async listForOrg(orgId: string): Promise<OrgProviderView[]> {
    const [global, org] = await Promise.all([this.controls.scope(GLOBAL_SCOPE), this.controls.scope(orgId)]);
    return PROVIDERS.map((name) => ({
      name,
      enabled: this.router.isConfigured(name),
      disabled: org[name]?.disabled ?? false,
      forced: org[name]?.forced ?? false,
      disabledByAdmin: global[name]?.disabled ?? false,
    }));
  }

  /**
   * An organization admin's switch for their organization's calls only; audited with the
   * organization, so its admins see it in their audit events.
   */
  async updateForOrg(
    orgId: string,
    name: string,
    change: UpdateProviderDto,
    actor: AuditActor,
    client: AuditClient,
  ): Promise<OrgProviderView> {
    const provider = this.checked(name, change);
    const [global, org] = await Promise.all([this.controls.scope(GLOBAL_SCOPE), this.controls.scope(orgId)]);
    if (change.forced && global[provider]?.disabled) {
      throw new ConflictError(
        'PROVIDER_DISABLED',
        `${provider} is disabled by the administrator; it cannot be forced.`,
      );
    }
    if (change.forced && org[provider]?.disabled && change.disabled !== false) {
      throw new ConflictError('PROVIDER_DISABLED', `${provider} is disabled; enable it before forcing it.`);
    }
    await this.controls.set(
      provider,
      change,
      actor.type === 'user' ? actor.id : null,
      (manager, after) =>
        this.audit.record(
          {
            actor,
            action: 'llm.provider_updated',
            target: { type: 'llm_provider', id: null },
            orgId,
            ...client,
            data: { provider, change: { ...change }, after },
          },
          manager,
        ),
      orgId,
    );
    const view = (await this.listForOrg(orgId)).find((item) => item.name === provider);
    if (!view) throw new NotFoundError('Provider', 'PROVIDER_NOT_FOUND');
    return view;
  }

  /** A known provider and a change that says something coherent. */
  private checked(name: string, change: UpdateProviderDto): ProviderName {
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
    return provider;
  }
}
