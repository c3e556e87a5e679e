import { performance } from 'node:perf_hooks';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '#src/config/namespaces.js';
import type { LlmConfig } from '#src/config/llm.config.js';
import { BudgetService } from '#src/metrics/budget.service.js';
import { toMicroCents } from '#src/metrics/money.js';
import type { LlmUsageOutcome } from '#src/metrics/entities/llm-usage.entity.js';
import { llmMetrics } from '#src/metrics/prometheus.js';
import { UsageService } from '#src/metrics/usage.service.js';
import { BreakerPermit, CircuitBreakerService } from './circuit-breaker.service.js';
import { LlmCallHooks } from './llm-call-hooks.js';
import {
  BudgetExceededError,
  ContextTooLargeError,
  LlmAbortedError,
  LlmRequestRejectedError,
  LlmUnavailableError,
  ProviderCallError,
} from './llm.errors.js';
import { PROVIDERS } from './llm.types.js';
import type {
  AgentName,
  LlmCallRequest,
  LlmResult,
  LlmUsage,
  ModelRef,
  ProviderName,
  RoutingDecision,
  WriteWithUsage,
} from './llm.types.js';
import { LatencyTrackerService } from './latency-tracker.service.js';
import { ProviderControlsService } from './provider-controls.service.js';
import { chooseRoute, refOf } from './routing-policy.js';
import { ModelRouter, ResolvedModel } from './model-router.js';
import { PriceTable } from './prices.js';
import { planPromptCache, PromptCachePlan } from './prompt-cache.js';
import { ProviderRegistry } from './provider-registry.js';
import { EMPTY_USAGE, LlmProvider, ProviderCallResult } from './providers/llm-provider.js';
import { retryDelayMs, sleep } from './retry-policy.js';

const OUTCOME: Record<ProviderCallError['kind'], LlmUsageOutcome> = {
  rate_limited: 'error',
  server: 'error',
  network: 'error',
  auth: 'error',
  not_found: 'error',
  invalid_request: 'error',
  timeout: 'timeout',
  malformed: 'malformed',
  aborted: 'aborted',
};

/** Serialised prompt bytes bound its tokens from above (byte-level BPE: every token covers ≥ 1 byte). */
const TOKENS_PER_MESSAGE_OVERHEAD = 8;
const TOKENS_BASE_OVERHEAD = 16;
/** Providers add a hidden system prompt when tools are offered (Anthropic documents up to 346 tokens). */
const TOKENS_TOOL_USE_OVERHEAD = 512;

/**
 * The only way agents reach a model: routing, per-call timeout, retries with backoff and jitter,
 * per-provider circuit breaker (shared through Redis), fallback along LLM_FALLBACK_ORDER, budget
 * reservation, and one usage record per attempt.
 */
@Injectable()
export class LlmGatewayService {
  private readonly logger = new Logger(LlmGatewayService.name);
  private readonly llm: LlmConfig;

  constructor(
    config: ConfigService<AllConfig, true>,
    private readonly router: ModelRouter,
    private readonly providers: ProviderRegistry,
    private readonly breaker: CircuitBreakerService,
    private readonly prices: PriceTable,
    private readonly budgets: BudgetService,
    private readonly usage: UsageService,
    private readonly hooks: LlmCallHooks,
    private readonly latency: LatencyTrackerService,
    private readonly controls: ProviderControlsService,
  ) {
    this.llm = config.get('llm', { infer: true });
  }

  resolveModel(agent: AgentName, override?: ModelRef): ResolvedModel {
    return this.router.resolveModel(agent, override);
  }

  /** Throws `UnknownModelError` (400) for an unknown or unconfigured provider or model. */
  assertModelRef(ref: ModelRef): ResolvedModel {
    return this.router.assertModelRef(ref);
  }

  /** The models of these routes no configured provider can serve (see ModelRouter.unservedModels). */
  unservedModels(routes: Array<{ agent: AgentName; override?: ModelRef }>): ResolvedModel[] {
    return this.router.unservedModels(routes);
  }

  /** What the budget reserves for one attempt of `request` on its primary model (USD). */
  worstCaseCost(request: LlmCallRequest): string {
    const target = this.router.resolveModel(request.context.agent, request.model);
    return this.worstCase(target, request);
  }

  async call(request: LlmCallRequest): Promise<LlmResult> {
    const started = performance.now();
    const maxTokens = request.maxTokens ?? this.llm.defaultMaxTokens;
    const { route, decision } = await this.plan(request, maxTokens);
    const primary = route[0];
    // Only a user with a budget limit needs the worst case: measured once, when first asked for.
    let promptTokenBound: number | undefined;
    const worstCase = (target: ResolvedModel) =>
      this.worstCase(target, request, (promptTokenBound ??= this.promptTokenBound(request)));
    const failures: { provider: ProviderName; model: string; error: string }[] = [];
    let refused: LlmRequestRejectedError | undefined;
    let refusals = 0;
    let attemptNumber = 0;

    for (const target of route) {
      const provider = this.providers.get(target.provider);
      if (!provider) {
        failures.push({ ...target, error: 'provider not configured' });
        continue;
      }
      for (let retry = 0; ; retry++) {
        if (request.signal?.aborted) throw new LlmAbortedError();
        const { reservation, permit } = await this.admit(target, request, worstCase);
        if (!permit.allowed) {
          await this.budgets.release(reservation);
          failures.push({ ...target, error: `circuit ${permit.state}` });
          break;
        }
        attemptNumber++;
        const attemptStarted = performance.now();
        const attemptStartedAt = Date.now();
        let outcome: { result: ProviderCallResult } | { error: ProviderCallError };
        try {
          outcome = { result: await this.attempt(provider, target, request, maxTokens) };
        } catch (error) {
          outcome = {
            error:
              error instanceof ProviderCallError
                ? error
                : new ProviderCallError('network', String(error), { cause: error }),
          };
        }
        const latencyMs = Math.round(performance.now() - attemptStarted);
        const usage = 'result' in outcome ? outcome.result.usage : (outcome.error.details.usage ?? EMPTY_USAGE);
        const reported = 'result' in outcome ? outcome.result.reportedCostUsd : undefined;
        const costUsd = reported ?? this.prices.cost(target.provider, target.model, usage);
        // The result this attempt returns if it succeeded (a write may go with its usage row).
        const result: LlmResult | null =
          'result' in outcome
            ? {
                ...outcome.result,
                costUsd,
                latencyMs: Math.round(performance.now() - started),
                provider: target.provider,
                model: target.model,
                routing:
                  target === primary
                    ? decision
                    : {
                        ...decision,
                        chosen: refOf(target),
                        reason: `${decision.reason}; fell back from ${refOf(primary)}`,
                      },
              }
            : null;
        const also = result && request.recordWith ? request.recordWith(result) : undefined;
        await this.record(request, target, attemptNumber, usage, costUsd, latencyMs, outcome, reservation, also);
        this.hooks.attemptCompleted({
          request,
          provider: target.provider,
          model: target.model,
          attempt: attemptNumber,
          maxTokens,
          startedAt: attemptStartedAt,
          latencyMs,
          usage,
          costUsd,
          ...('result' in outcome
            ? { result: outcome.result }
            : {
                error: {
                  kind: outcome.error.kind,
                  message: outcome.error.message,
                  status: outcome.error.details.status,
                },
              }),
        });

        if ('result' in outcome) {
          this.latency.record(target.provider, target.model, latencyMs);
          await this.breaker.recordSuccess(target.provider, permit);
          if (target !== primary) llmMetrics().fallbacks.inc({ from: primary.provider, to: target.provider });
          return result!;
        }

        const error = outcome.error;
        if (error.kind === 'aborted') {
          if (permit.probe) await this.breaker.releaseProbe(target.provider); // says nothing about its health
          throw new LlmAbortedError();
        }
        let state = permit.state;
        if (error.countsAsOutage) state = await this.breaker.recordFailure(target.provider);
        else if (permit.probe) await this.breaker.recordSuccess(target.provider); // it answered: it is up
        if (error.fallsBack) {
          // The provider refused its key or this model: an operator must fix it; meanwhile the next target serves.
          this.logger.error(
            `${target.provider}:${target.model} refused the call (${error.details.status ?? error.kind}): ${error.message}; trying the next provider of the route`,
          );
          refused ??= new LlmRequestRejectedError(target.provider, error.details.status, error.message);
          refusals++;
          failures.push({ ...target, error: `${error.kind}: ${error.message}` });
          break;
        }
        if (!error.retryable) {
          throw new LlmRequestRejectedError(target.provider, error.details.status, error.message);
        }
        this.logger.warn(
          `${target.provider}:${target.model} attempt ${retry + 1} failed (${error.kind}): ${error.message}`,
        );
        if (state === 'open' || retry >= this.llm.maxRetries) {
          failures.push({ ...target, error: `${error.kind}: ${error.message}` });
          break;
        }
        const delay = retryDelayMs(
          retry,
          { baseMs: this.llm.retryBaseMs, maxMs: this.llm.retryMaxMs },
          error.details.retryAfterMs,
        );
        if (delay > this.llm.retryMaxMs) {
          // The provider asks for a longer pause than we are willing to wait: try the next one.
          failures.push({ ...target, error: `${error.kind}: retry-after ${delay} ms exceeds LLM_RETRY_MAX_MS` });
          break;
        }
        try {
          await sleep(delay, request.signal);
        } catch {
          throw new LlmAbortedError();
        }
      }
    }
    // Every target refused its key or model: a configuration fault, not a passing outage.
    if (refused && refusals === failures.length) throw refused;
    throw new LlmUnavailableError(
      `No provider could serve the call (${failures.map((f) => `${f.provider}: ${f.error}`).join('; ')}).`,
      failures,
    );
  }

  /**
   * The route of one call: the agent's candidates ranked by the routing policy (forced and disabled
   * providers, open circuits, cost and p95 against the SLO), then LLM_FALLBACK_ORDER; targets whose
   * context window cannot hold the request are left out. Reads memory only, in the common case.
   */
  private async plan(
    request: LlmCallRequest,
    maxTokens: number,
  ): Promise<{ route: ResolvedModel[]; decision: RoutingDecision }> {
    const candidates = this.router.candidates(request.context.agent, request.model);
    const pending = this.controls.current(request.context.orgId);
    const controls = pending instanceof Promise ? await pending : pending;
    let promptTokens: number | undefined;
    const estimate = () => (promptTokens ??= estimatePromptTokens(request));
    const skipOf = (provider: ProviderName): string | null =>
      controls[provider]?.disabled
        ? 'disabled by admin'
        : !this.router.isConfigured(provider)
          ? 'not configured'
          : this.breaker.isKnownOpen(provider)
            ? 'circuit open'
            : null;
    const forcedProvider = PROVIDERS.find((p) => controls[p]?.forced && !controls[p]?.disabled);
    const forcedTarget = forcedProvider
      ? (candidates.find((c) => c.provider === forcedProvider) ?? this.router.defaultModelOf(forcedProvider))
      : undefined;
    const { order, decision } = chooseRoute({
      candidates,
      latencySloMs: request.latencySloMs,
      forced: forcedTarget ? { target: forcedTarget, listed: candidates.includes(forcedTarget) } : undefined,
      facts: (candidate) => ({
        skip: skipOf(candidate.provider),
        // Several candidates: the estimated cost of this call on each (the answer's size is unknown; the cap is not).
        cost:
          candidates.length > 1
            ? toMicroCents(
                this.prices.cost(candidate.provider, candidate.model, {
                  inputTokens: estimate(),
                  outputTokens: Math.min(maxTokens, EXPECTED_OUTPUT_TOKENS),
                  cachedInputTokens: 0,
                }),
              )
            : 0n,
        p95Ms: this.latency.stats(candidate.provider, candidate.model)?.p95Ms,
      }),
    });
    // Open circuits stay on the route (the breaker decides; a probe may be due); disabled providers never.
    const route = this.router
      .withFallbacks(order.length ? order : candidates.filter((c) => skipOf(c.provider) === 'circuit open'))
      .filter((target) => !controls[target.provider]?.disabled);
    const fitting = route.filter((target) => this.fits(target, estimate, maxTokens));
    if (!fitting.length) {
      if (!route.length) throw new LlmUnavailableError(`No provider can serve the call (${decision.reason}).`, []);
      const window = Math.max(...route.map((t) => this.prices.contextWindow(t.provider, t.model) ?? 0));
      throw new ContextTooLargeError(estimate() + maxTokens, window);
    }
    if (fitting[0] !== route[0]) {
      return {
        route: fitting,
        decision: {
          ...decision,
          chosen: refOf(fitting[0]),
          reason: `${decision.reason}; ${refOf(route[0])} cannot hold ~${estimate()} + ${maxTokens} tokens, larger context: ${refOf(fitting[0])}`,
        },
      };
    }
    return { route: fitting, decision };
  }

  /** Whether the prompt's conservative estimate plus the answer's cap fits the model's context window. */
  private fits(target: ResolvedModel, estimate: () => number, maxTokens: number): boolean {
    const window = this.prices.contextWindow(target.provider, target.model);
    return window === undefined || estimate() + maxTokens <= window;
  }

  /**
   * One provider call under the per-call timeout (LLM_TIMEOUT_MS) and the caller's abort signal.
   * The adapter enforces the deadline the way its SDK allows (see `withDeadline`).
   */
  private attempt(
    provider: LlmProvider,
    target: ResolvedModel,
    request: LlmCallRequest,
    maxTokens: number,
  ): Promise<ProviderCallResult> {
    return provider.call({
      model: target.model,
      messages: request.messages,
      tools: request.tools,
      toolChoice: request.toolChoice,
      temperature: request.temperature,
      maxTokens,
      signal: request.signal,
      timeoutMs: this.llm.timeoutMs,
      onDelta: request.onDelta,
      cache: target.provider === 'anthropic' || target.provider === 'openrouter' ? this.cachePlan(request) : undefined,
      cacheKey: target.provider === 'openai' ? cacheKeyOf(request) : undefined,
    });
  }

  private cachePlan(request: LlmCallRequest): PromptCachePlan {
    return planPromptCache(request);
  }

  /**
   * Budget reservation and breaker permit, asked for at once (they touch different stores); each is
   * undone when the other fails, so no reservation or half-open probe is left dangling.
   */
  private async admit(
    target: ResolvedModel,
    request: LlmCallRequest,
    worstCase: (target: ResolvedModel) => string,
  ): Promise<{ reservation: string | null; permit: BreakerPermit }> {
    const [reserved, acquired] = await Promise.allSettled([
      this.reserve(request.context, () => worstCase(target)),
      this.breaker.acquire(target.provider),
    ]);
    if (reserved.status === 'rejected') {
      if (acquired.status === 'fulfilled' && acquired.value.probe) await this.breaker.releaseProbe(target.provider);
      throw reserved.reason;
    }
    if (acquired.status === 'rejected') {
      await this.budgets.release(reserved.value);
      throw acquired.reason;
    }
    return { reservation: reserved.value, permit: acquired.value };
  }

  private async reserve(context: LlmCallRequest['context'], worstCaseUsd: () => string): Promise<string | null> {
    const scope = {
      userId: context.userId,
      orgId: context.orgId ?? null,
      apiKeyId: context.apiKeyId ?? null,
      taskId: context.taskId ?? null,
      taskLimitUsd: context.taskMaxCostUsd ?? null,
    };
    try {
      // A reservation outlives every legitimate attempt: timeout plus the longest retry pause.
      return await this.budgets.reserve(scope, worstCaseUsd, this.llm.timeoutMs + this.llm.retryMaxMs + 60_000);
    } catch (error) {
      if (error instanceof BudgetExceededError) llmMetrics().budgetRejections.inc();
      throw error;
    }
  }

  private async record(
    request: LlmCallRequest,
    target: ResolvedModel,
    attempt: number,
    usage: LlmUsage,
    costUsd: string,
    latencyMs: number,
    outcome: { result: ProviderCallResult } | { error: ProviderCallError },
    reservation: string | null,
    also?: WriteWithUsage,
  ): Promise<void> {
    const result: LlmUsageOutcome = 'result' in outcome ? 'success' : OUTCOME[outcome.error.kind];
    const context = request.context;
    await this.usage.settle(
      {
        userId: context.userId,
        orgId: context.orgId ?? null,
        apiKeyId: context.apiKeyId ?? null,
        taskId: context.taskId ?? null,
        runId: context.runId ?? null,
        stepId: context.stepId ?? null,
        agent: context.agent,
        provider: target.provider,
        model: target.model,
        attempt,
        inputTokens: usage.inputTokens,
        outputTokens: usage.outputTokens,
        cachedInputTokens: usage.cachedInputTokens,
        cacheWriteInputTokens: usage.cacheWriteTokens ?? 0,
        costUsd,
        latencyMs,
        outcome: result,
        errorCode: 'error' in outcome ? errorCode(outcome.error) : null,
      },
      reservation,
      also,
    );
    const metrics = llmMetrics();
    const labels = { provider: target.provider, model: target.model };
    metrics.calls.inc({ ...labels, agent: context.agent, outcome: result });
    metrics.latency.observe({ ...labels, outcome: result }, latencyMs / 1000);
    if (usage.inputTokens) metrics.tokens.inc({ ...labels, kind: 'input' }, usage.inputTokens);
    if (usage.outputTokens) metrics.tokens.inc({ ...labels, kind: 'output' }, usage.outputTokens);
    if (usage.cachedInputTokens) metrics.tokens.inc({ ...labels, kind: 'cached_input' }, usage.cachedInputTokens);
    if (usage.cacheWriteTokens) metrics.tokens.inc({ ...labels, kind: 'cache_write' }, usage.cacheWriteTokens);
    const cost = Number(costUsd);
    if (cost > 0) metrics.cost.inc(labels, cost);
  }

  private worstCase(
    target: ResolvedModel,
    request: LlmCallRequest,
    promptTokenBound = this.promptTokenBound(request),
  ): string {
    return this.prices.cost(target.provider, target.model, {
      inputTokens: promptTokenBound,
      outputTokens: request.maxTokens ?? this.llm.defaultMaxTokens,
      cachedInputTokens: 0,
    });
  }

  /** An upper bound of the prompt's tokens: its UTF-8 bytes plus per-message framing. */
  private promptTokenBound(request: LlmCallRequest): number {
    let bytes = 0;
    for (const message of request.messages)
      bytes += Buffer.byteLength(JSON.stringify(message)) + TOKENS_PER_MESSAGE_OVERHEAD;
    if (request.tools?.length) bytes += Buffer.byteLength(JSON.stringify(request.tools)) + TOKENS_TOOL_USE_OVERHEAD;
    return bytes + TOKENS_BASE_OVERHEAD;
  }
}

/** What a routing decision assumes an answer costs in output tokens (the cap when smaller). */
const EXPECTED_OUTPUT_TOKENS = 1_024;

/**
 * A conservative estimate of a prompt's tokens: characters ÷ 3 (tokenizers average 3.5–4.5
 * characters per token on English and code) plus the framing of each message and of tool use.
 * Cheaper than the byte-exact upper bound the budget reserves, and not as pessimistic.
 */
export function estimatePromptTokens(request: Pick<LlmCallRequest, 'messages' | 'tools'>): number {
  let chars = 0;
  for (const message of request.messages) {
    chars += message.content.length;
    if (message.role === 'assistant' && message.toolCalls?.length) chars += JSON.stringify(message.toolCalls).length;
  }
  let tokens = Math.ceil(chars / 3) + request.messages.length * TOKENS_PER_MESSAGE_OVERHEAD + TOKENS_BASE_OVERHEAD;
  if (request.tools?.length) tokens += Math.ceil(JSON.stringify(request.tools).length / 3) + TOKENS_TOOL_USE_OVERHEAD;
  return tokens;
}

/** One key per run and agent (or user and agent): the calls that share a prefix share OpenAI's cache. */
function cacheKeyOf(request: LlmCallRequest): string {
  const context = request.context;
  return `quorum:${context.runId ?? context.userId}:${context.agent}`;
}

/** `server:500`, `rate_limited:429`, `timeout`: what the usage record keeps of a failed attempt. */
function errorCode(error: ProviderCallError): string {
  return error.details.status ? `${error.kind}:${error.details.status}` : error.kind;
}
