import { Injectable, Logger } from '@nestjs/common';
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

/**
 * Agent → provider/model routing (`AGENT_MODELS`, `DEFAULT_MODEL`, per-task overrides) and the
 * fallback route (`LLM_FALLBACK_ORDER`). Every reference is checked when configuration loads and
 * when a task is created, so a typo never surfaces in the middle of a run.
 */
@Injectable()
export class ModelRouter {
  private readonly logger = new Logger(ModelRouter.name);
  private readonly llm: LlmConfig;
  private readonly defaultModel: ResolvedModel;
  private readonly agentModels: Record<string, ResolvedModel> = {};
  private readonly fallbacks: ResolvedModel[];

  constructor(
    config: ConfigService<AllConfig, true>,
    private readonly prices: PriceTable,
  ) {
    this.llm = config.get('llm', { infer: true });
    this.defaultModel = this.checkAtBoot('DEFAULT_MODEL', this.llm.defaultModel);
    for (const [agent, ref] of Object.entries(this.llm.agentModels)) {
      this.agentModels[agent] = this.checkAtBoot('AGENT_MODELS', ref);
    }
    this.fallbacks = this.llm.fallbackOrder.map((ref) => this.checkAtBoot('LLM_FALLBACK_ORDER', ref));
  }

  /** The model an agent uses: the task's override, else AGENT_MODELS (`judge` covers `judge.*`), else DEFAULT_MODEL. */
  resolveModel(agent: AgentName, override?: ModelRef): ResolvedModel {
    if (override) return this.assertModelRef(override);
    const family = agent.startsWith('judge.') ? 'judge' : agent;
    return this.agentModels[agent] ?? this.agentModels[family] ?? this.defaultModel;
  }

  /** Parses and checks `provider:model` (or a bare provider name, meaning its default model). */
  assertModelRef(ref: ModelRef): ResolvedModel {
    const resolved = this.parse(ref);
    if (!this.llm.providers[resolved.provider].enabled) {
      throw new UnknownModelError(
        ref,
        `provider ${resolved.provider} is not configured (set ${ENV_HINT[resolved.provider]})`,
      );
    }
    return resolved;
  }

  isConfigured(provider: ProviderName): boolean {
    return this.llm.providers[provider].enabled;
  }

  /** The primary model followed by the fallback models of other configured providers, in order. */
  route(primary: ResolvedModel): ResolvedModel[] {
    const route = [primary];
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
    if (!this.llm.providers[resolved.provider].enabled) {
      this.logger.warn(
        `${variable} names ${resolved.provider}:${resolved.model}, but ${resolved.provider} is not configured (set ${ENV_HINT[resolved.provider]})`,
      );
    }
    return resolved;
  }
}
