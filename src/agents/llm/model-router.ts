import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '#src/config/namespaces.js';
import type { LlmConfig } from '#src/config/llm.config.js';
import { UnknownModelError } from './llm.errors.js';
import type { AgentName, ModelRef, ProviderName } from './llm.types.js';
import { parseModelRef, ResolvedModel } from './model-ref.js';
import { PriceTable } from './prices.js';

export type { ResolvedModel } from './model-ref.js';

const ENV_HINT: Record<ProviderName, string> = {
  openai: 'OPENAI_API_KEY or OPENAI_BASE_URL',
  anthropic: 'ANTHROPIC_API_KEY or ANTHROPIC_BASE_URL',
  google: 'GOOGLE_API_KEY or GOOGLE_BASE_URL',
  local: 'LOCAL_LLM_BASE_URL',
  openrouter: 'OPENROUTER_API_KEY or OPENROUTER_BASE_URL',
};

const NO_PROVIDER_WARNING =
  'No model provider is configured: runs cannot call a model, and POST /tasks/:id/execute answers 422 NO_PROVIDER. ' +
  'Set OPENAI_API_KEY, ANTHROPIC_API_KEY, GOOGLE_API_KEY or LOCAL_LLM_BASE_URL; without a key, run `npm run fake-llm` ' +
  'and set OPENAI_BASE_URL=http://127.0.0.1:4010/openai/v1 (docs/llm.md).';

/**
 * Agent → provider/model routing (`AGENT_MODELS`, `DEFAULT_MODEL`, per-task overrides) and the
 * fallback route (`LLM_FALLBACK_ORDER`). Every reference is checked when configuration loads and
 * when a task is created, so a typo never surfaces in the middle of a run.
 */
@Injectable()
export class ModelRouter implements OnApplicationBootstrap {
  private readonly logger = new Logger(ModelRouter.name);
  private readonly llm: LlmConfig;
  private readonly defaultModel: ResolvedModel;
  private readonly agentModels: Record<string, ResolvedModel[]> = {};
  private readonly defaultRoute: ResolvedModel[];
  private readonly fallbacks: ResolvedModel[];
  private readonly quiet: boolean;

  constructor(
    config: ConfigService<AllConfig, true>,
    private readonly prices: PriceTable,
  ) {
    this.llm = config.get('llm', { infer: true });
    // One warning for "nothing configured", instead of one per route naming an unconfigured provider.
    this.quiet = !this.anyConfigured();
    this.defaultModel = this.checkAtBoot('DEFAULT_MODEL', this.llm.defaultModel);
    this.defaultRoute = [this.defaultModel];
    for (const [agent, route] of Object.entries(this.llm.agentModels)) {
      this.agentModels[agent] = route.split('|').map((ref) => this.checkAtBoot('AGENT_MODELS', ref));
    }
    this.fallbacks = this.llm.fallbackOrder.map((ref) => this.checkAtBoot('LLM_FALLBACK_ORDER', ref));
  }

  onApplicationBootstrap(): void {
    if (this.quiet) this.logger.warn(NO_PROVIDER_WARNING);
  }

  /** The first model an agent's route lists (see `candidates`). */
  resolveModel(agent: AgentName, override?: ModelRef): ResolvedModel {
    return this.candidates(agent, override)[0];
  }

  /**
   * The models an agent may use, as its route lists them (`provider:model|provider:model`): the
   * task's override, else AGENT_MODELS (`judge` covers `judge.*`), else DEFAULT_MODEL.
   */
  candidates(agent: AgentName, override?: ModelRef): ResolvedModel[] {
    if (override)
      return override.includes('|')
        ? override.split('|').map((ref) => this.assertOne(ref))
        : [this.assertOne(override)];
    const family = agent.startsWith('judge.') ? 'judge' : agent;
    return this.agentModels[agent] ?? this.agentModels[family] ?? this.defaultRoute;
  }

  /** Parses and checks `provider:model` (or a bare provider name, meaning its default model), or a route of them joined by `|`. */
  assertModelRef(ref: ModelRef): ResolvedModel {
    return ref.includes('|') ? ref.split('|').map((part) => this.assertOne(part))[0] : this.assertOne(ref);
  }

  /** The model a bare provider name means (local: LOCAL_LLM_MODEL). */
  defaultModelOf(provider: ProviderName): ResolvedModel | undefined {
    try {
      return this.parse(provider);
    } catch {
      return undefined;
    }
  }

  private assertOne(ref: ModelRef): ResolvedModel {
    const resolved = this.parse(ref);
    if (!this.llm.providers[resolved.provider].enabled) {
      throw new UnknownModelError(
        ref,
        `provider ${resolved.provider} is not configured (set ${ENV_HINT[resolved.provider]})`,
      );
    }
    return resolved;
  }

  /**
   * The models of these routes that no configured provider can serve (their own provider is off and
   * no configured fallback follows), each once; empty when every route can be served.
   */
  unservedModels(routes: Array<{ agent: AgentName; override?: ModelRef }>): ResolvedModel[] {
    const unserved: ResolvedModel[] = [];
    for (const { agent, override } of routes) {
      const family = agent.startsWith('judge.') ? 'judge' : agent;
      const chosen = override
        ? override.split('|').map((ref) => this.parse(ref))
        : (this.agentModels[agent] ?? this.agentModels[family] ?? this.defaultRoute);
      if (this.withFallbacks(chosen).some((target) => this.llm.providers[target.provider].enabled)) continue;
      const primary = chosen[0];
      if (!unserved.some((m) => m.provider === primary.provider && m.model === primary.model)) unserved.push(primary);
    }
    return unserved;
  }

  /** The variables that turn a provider on. */
  static enableHint(provider: ProviderName): string {
    return ENV_HINT[provider];
  }

  /** Whether any provider at all is configured. */
  anyConfigured(): boolean {
    return Object.values(this.llm.providers).some((provider) => provider.enabled);
  }

  isConfigured(provider: ProviderName): boolean {
    return this.llm.providers[provider].enabled;
  }

  /** The primary model followed by the fallback models of other configured providers, in order. */
  route(primary: ResolvedModel): ResolvedModel[] {
    return this.withFallbacks([primary]);
  }

  /** `chosen` followed by LLM_FALLBACK_ORDER's models of providers not on it yet, configured ones only. */
  withFallbacks(chosen: ResolvedModel[]): ResolvedModel[] {
    const route = [...chosen];
    for (const next of this.fallbacks) {
      if (route.some((r) => r.provider === next.provider)) continue;
      if (!this.llm.providers[next.provider].enabled) continue;
      route.push(next);
    }
    return route;
  }

  private parse(ref: ModelRef): ResolvedModel {
    return parseModelRef(ref, this.prices, this.llm.localModel);
  }

  /** Config validation already refused unknown references; what is left to say is a warning. */
  private checkAtBoot(variable: string, ref: string): ResolvedModel {
    const resolved = this.parse(ref);
    if (!this.quiet && !this.llm.providers[resolved.provider].enabled) {
      this.logger.warn(
        `${variable} names ${resolved.provider}:${resolved.model}, but ${resolved.provider} is not configured (set ${ENV_HINT[resolved.provider]})`,
      );
    }
    return resolved;
  }
}
