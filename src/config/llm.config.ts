import { registerAs } from '@nestjs/config';
import { parseModelRef } from '#src/agents/llm/model-ref.js';
import { PriceTable } from '#src/agents/llm/prices.js';
import { PROVIDERS, ProviderName } from '#src/agents/llm/llm.types.js';
import { z } from 'zod';
import { ConfigError } from './config.error.js';
import { envInt, envList, envUrl, parseEnv } from './env.js';

/** `planner=openai:gpt-4o,coder=local:qwen2.5-coder` → { planner: 'openai:gpt-4o', … }. */
function parseAgentModels(value: string | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const pair of (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) {
      throw new ConfigError('AGENT_MODELS', `"${pair}" must look like agent=provider:model`);
    }
    result[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return result;
}

const priceEntry = z.object({
  input: z.union([z.number(), z.string()]),
  output: z.union([z.number(), z.string()]),
  cachedInput: z.union([z.number(), z.string()]).optional(),
});

function parsePrices(
  value: string | undefined,
): Record<string, { input: string; output: string; cachedInput?: string }> {
  if (!value) return {};
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    throw new ConfigError('LLM_PRICES', 'must be JSON like {"model":{"input":2.5,"output":10}}');
  }
  const parsed = z.record(z.string(), priceEntry).safeParse(json);
  if (!parsed.success)
    throw new ConfigError('LLM_PRICES', 'must map model names to {input, output, cachedInput?} per million tokens');
  const decimal = /^\d+(\.\d{1,12})?$/;
  const out: Record<string, { input: string; output: string; cachedInput?: string }> = {};
  for (const [model, entry] of Object.entries(parsed.data)) {
    // Numbers go through String(): JSON numbers like 2.5 print exactly; exponents are refused below.
    const input = String(entry.input);
    const output = String(entry.output);
    const cachedInput = entry.cachedInput === undefined ? undefined : String(entry.cachedInput);
    for (const v of [input, output, cachedInput]) {
      if (v !== undefined && !decimal.test(v))
        throw new ConfigError('LLM_PRICES', `price ${v} of ${model} is not a plain non-negative decimal`);
    }
    out[model] = { input, output, ...(cachedInput !== undefined ? { cachedInput } : {}) };
  }
  return out;
}

export const llmConfig = registerAs('llm', () => {
  const env = parseEnv({
    OPENAI_API_KEY: z.string().optional(),
    OPENAI_BASE_URL: envUrl(['http', 'https']).optional(),
    ANTHROPIC_API_KEY: z.string().optional(),
    ANTHROPIC_BASE_URL: envUrl(['http', 'https']).optional(),
    GOOGLE_API_KEY: z.string().optional(),
    GOOGLE_BASE_URL: envUrl(['http', 'https']).optional(),
    LOCAL_LLM_BASE_URL: envUrl(['http', 'https']).optional(),
    LOCAL_LLM_API_KEY: z.string().optional(),
    LOCAL_LLM_MODEL: z.string().optional(),
    OPENROUTER_API_KEY: z.string().optional(),
    OPENROUTER_BASE_URL: envUrl(['http', 'https']).optional(),
    DEFAULT_MODEL: z.string().optional(),
    AGENT_MODELS: z.string().optional(),
    LLM_FALLBACK_ORDER: envList(),
    LLM_PRICES: z.string().optional(),
    LLM_TIMEOUT_MS: envInt(120_000, 100, 3_600_000),
    LLM_MAX_RETRIES: envInt(3, 0, 10),
    LLM_RETRY_BASE_MS: envInt(500, 0, 60_000),
    LLM_RETRY_MAX_MS: envInt(20_000, 0, 600_000),
    LLM_BREAKER_FAILURE_THRESHOLD: envInt(5, 1, 1_000),
    LLM_BREAKER_COOLDOWN_MS: envInt(30_000, 10, 3_600_000),
    LLM_BREAKER_CACHE_MS: envInt(1_000, 0, 60_000),
    LLM_BUDGET_LIMIT_CACHE_MS: envInt(10_000, 0, 3_600_000),
    LLM_DEFAULT_MAX_TOKENS: envInt(4_096, 1, 1_000_000),
    LLM_LATENCY_WINDOW_MS: envInt(600_000, 1_000, 86_400_000),
    LLM_LATENCY_SYNC_MS: envInt(1_000, 10, 60_000),
    METRICS_TOKEN: z.string().optional(),
  });
  const localModel = env.LOCAL_LLM_MODEL;
  const providers: Record<ProviderName, { apiKey?: string; baseUrl?: string; enabled: boolean }> = {
    openai: {
      apiKey: env.OPENAI_API_KEY,
      baseUrl: env.OPENAI_BASE_URL,
      enabled: Boolean(env.OPENAI_API_KEY || env.OPENAI_BASE_URL),
    },
    anthropic: {
      apiKey: env.ANTHROPIC_API_KEY,
      baseUrl: env.ANTHROPIC_BASE_URL,
      enabled: Boolean(env.ANTHROPIC_API_KEY || env.ANTHROPIC_BASE_URL),
    },
    google: {
      apiKey: env.GOOGLE_API_KEY,
      baseUrl: env.GOOGLE_BASE_URL,
      enabled: Boolean(env.GOOGLE_API_KEY || env.GOOGLE_BASE_URL),
    },
    local: { apiKey: env.LOCAL_LLM_API_KEY, baseUrl: env.LOCAL_LLM_BASE_URL, enabled: Boolean(env.LOCAL_LLM_BASE_URL) },
    openrouter: {
      apiKey: env.OPENROUTER_API_KEY,
      baseUrl: env.OPENROUTER_BASE_URL,
      enabled: Boolean(env.OPENROUTER_API_KEY || env.OPENROUTER_BASE_URL),
    },
  };
  const firstEnabled = PROVIDERS.find((p) => providers[p].enabled);
  const defaultModel =
    env.DEFAULT_MODEL ??
    (firstEnabled === 'local' && localModel
      ? `local:${localModel}`
      : firstEnabled === 'anthropic'
        ? 'anthropic:claude-sonnet-4-6'
        : firstEnabled === 'google'
          ? 'google:gemini-2.5-flash'
          : firstEnabled === 'openrouter'
            ? 'openrouter:openai/gpt-4o'
            : 'openai:gpt-4o');
  // Unknown providers or models stop start-up here, naming the variable, before anything connects.
  const prices = parsePrices(env.LLM_PRICES);
  const table = new PriceTable(prices);
  const check = (variable: string, ref: string) => {
    try {
      parseModelRef(ref, table, localModel);
    } catch (error) {
      throw new ConfigError(variable, (error as Error).message);
    }
  };
  check('DEFAULT_MODEL', defaultModel);
  const agentModels = parseAgentModels(env.AGENT_MODELS);
  for (const route of Object.values(agentModels)) for (const ref of route.split('|')) check('AGENT_MODELS', ref);
  for (const ref of env.LLM_FALLBACK_ORDER) check('LLM_FALLBACK_ORDER', ref);
  return {
    providers,
    localModel,
    defaultModel,
    agentModels,
    /** Provider names (their default model) or `provider:model` references. */
    fallbackOrder: env.LLM_FALLBACK_ORDER,
    prices,
    timeoutMs: env.LLM_TIMEOUT_MS,
    maxRetries: env.LLM_MAX_RETRIES,
    retryBaseMs: env.LLM_RETRY_BASE_MS,
    retryMaxMs: env.LLM_RETRY_MAX_MS,
    breaker: {
      failureThreshold: env.LLM_BREAKER_FAILURE_THRESHOLD,
      cooldownMs: env.LLM_BREAKER_COOLDOWN_MS,
      /** How long this process trusts a closed circuit without asking Redis (pub/sub drops it sooner). */
      cacheMs: env.LLM_BREAKER_CACHE_MS,
    },
    /** How long this process trusts a user's budget limit without asking PostgreSQL (pub/sub drops it sooner). */
    budgetLimitCacheMs: env.LLM_BUDGET_LIMIT_CACHE_MS,
    defaultMaxTokens: env.LLM_DEFAULT_MAX_TOKENS,
    /** Sliding window of the p50/p95 latency the router weighs, and how often processes share it. */
    latencyWindowMs: env.LLM_LATENCY_WINDOW_MS,
    latencySyncMs: env.LLM_LATENCY_SYNC_MS,
    metricsToken: env.METRICS_TOKEN,
  };
});
export type LlmConfig = ReturnType<typeof llmConfig>;
