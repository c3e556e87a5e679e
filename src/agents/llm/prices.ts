import { divRoundHalfUp, fromMicroCents, parseDecimal } from '#src/metrics/money.js';
import type { LlmUsage, ProviderName } from './llm.types.js';

/** USD per million tokens, as decimal strings. `cachedInput` defaults to `input`. */
export interface ModelPrice {
  input: string;
  output: string;
  cachedInput?: string;
}

/**
 * List prices (USD per 1M tokens, standard tier, prompts ≤ 200k tokens) of current models, from the
 * providers' pricing pages (checked November 2026; Anthropic's newest generation from third-party
 * mirrors of its page). Prices change: `LLM_PRICES` overrides or extends this table without a
 * release. `local` models cost nothing.
 */
export const BUILT_IN_PRICES: Record<Exclude<ProviderName, 'local'>, Record<string, ModelPrice>> = {
  openai: {
    'gpt-5.1': { input: '1.25', cachedInput: '0.125', output: '10' },
    'gpt-5': { input: '1.25', cachedInput: '0.125', output: '10' },
    'gpt-5-mini': { input: '0.25', cachedInput: '0.025', output: '2' },
    'gpt-5-nano': { input: '0.05', cachedInput: '0.005', output: '0.4' },
    'gpt-4.1': { input: '2', cachedInput: '0.5', output: '8' },
    'gpt-4.1-mini': { input: '0.4', cachedInput: '0.1', output: '1.6' },
    'gpt-4.1-nano': { input: '0.1', cachedInput: '0.025', output: '0.4' },
    'gpt-4o': { input: '2.5', cachedInput: '1.25', output: '10' },
    'gpt-4o-mini': { input: '0.15', cachedInput: '0.075', output: '0.6' },
    o3: { input: '2', cachedInput: '0.5', output: '8' },
    'o4-mini': { input: '1.1', cachedInput: '0.275', output: '4.4' },
  },
  anthropic: {
    'claude-opus-5-5': { input: '4', cachedInput: '0.2', output: '20' },
    'claude-opus-5': { input: '5', cachedInput: '0.5', output: '25' },
    'claude-sonnet-5-5': { input: '2', cachedInput: '0.1', output: '10' },
    'claude-sonnet-5': { input: '2', cachedInput: '0.2', output: '10' },
    'claude-opus-4-8': { input: '5', cachedInput: '0.5', output: '25' },
    'claude-opus-4-7': { input: '5', cachedInput: '0.5', output: '25' },
    'claude-opus-4-6': { input: '5', cachedInput: '0.5', output: '25' },
    'claude-sonnet-4-6': { input: '3', cachedInput: '0.3', output: '15' },
    'claude-opus-4-5': { input: '5', cachedInput: '0.5', output: '25' },
    'claude-opus-4-1': { input: '15', cachedInput: '1.5', output: '75' },
    'claude-opus-4': { input: '15', cachedInput: '1.5', output: '75' },
    'claude-sonnet-4-5': { input: '3', cachedInput: '0.3', output: '15' },
    'claude-sonnet-4': { input: '3', cachedInput: '0.3', output: '15' },
    'claude-3-7-sonnet': { input: '3', cachedInput: '0.3', output: '15' },
    'claude-haiku-4-5': { input: '1', cachedInput: '0.1', output: '5' },
    'claude-3-5-haiku': { input: '0.8', cachedInput: '0.08', output: '4' },
  },
  google: {
    'gemini-3-pro-preview': { input: '2', cachedInput: '0.2', output: '12' },
    'gemini-2.5-pro': { input: '1.25', cachedInput: '0.125', output: '10' },
    'gemini-2.5-flash': { input: '0.3', cachedInput: '0.03', output: '2.5' },
    'gemini-2.5-flash-lite': { input: '0.1', cachedInput: '0.01', output: '0.4' },
    'gemini-2.0-flash': { input: '0.1', cachedInput: '0.025', output: '0.4' },
  },
};

/** The default model of each provider when only a provider name is given (e.g. in LLM_FALLBACK_ORDER). */
export const PROVIDER_DEFAULT_MODELS: Record<Exclude<ProviderName, 'local'>, string> = {
  openai: 'gpt-4o',
  anthropic: 'claude-sonnet-4-6',
  google: 'gemini-2.5-flash',
};

const PRICE_DECIMALS = 12;
const ZERO: ModelPrice = { input: '0', output: '0', cachedInput: '0' };

/** A price as integers of 10^-12 USD per million tokens, ready for bigint arithmetic. */
interface Rates {
  input: bigint;
  cachedInput: bigint;
  output: bigint;
}

/** Looks up prices: `LLM_PRICES` first (by `provider:model` or `model`), then the built-in table. */
export class PriceTable {
  /** Parsed once per provider and model: every call prices its real usage (and worst case). */
  private readonly rates = new Map<ProviderName, Map<string, Rates>>();

  constructor(private readonly overrides: Record<string, ModelPrice> = {}) {}

  /** The price of a model, or undefined when neither table knows it. Dated snapshots match their family. */
  find(provider: ProviderName, model: string): ModelPrice | undefined {
    const exact = this.overrides[`${provider}:${model}`] ?? this.overrides[model];
    if (exact) return exact;
    if (provider === 'local') return ZERO;
    const builtIn = BUILT_IN_PRICES[provider];
    if (builtIn[model]) return builtIn[model];
    // `gpt-4o-2024-08-06`, `claude-sonnet-4-5-20250929`: the longest family name that prefixes it.
    const family = Object.keys(builtIn)
      .filter((name) => model.startsWith(`${name}-`))
      .sort((a, b) => b.length - a.length)[0];
    return family ? builtIn[family] : undefined;
  }

  has(provider: ProviderName, model: string): boolean {
    return this.find(provider, model) !== undefined;
  }

  /**
   * Cost in USD of one call, exact to 10^-8 (half-up). `usage.inputTokens` counts every prompt
   * token; the `cachedInputTokens` among them are billed at the cached price.
   */
  cost(provider: ProviderName, model: string, usage: LlmUsage): string {
    const { input, cachedInput, output } = this.ratesOf(provider, model);
    const cached = BigInt(Math.min(usage.cachedInputTokens, usage.inputTokens));
    const uncached = BigInt(usage.inputTokens) - cached;
    // tokens × (USD per 10^6 tokens × 10^12) = USD × 10^18; money keeps 10^-8.
    const units18 = uncached * input + cached * cachedInput + BigInt(usage.outputTokens) * output;
    return fromMicroCents(divRoundHalfUp(units18, 10n ** 10n));
  }

  private ratesOf(provider: ProviderName, model: string): Rates {
    let ofProvider = this.rates.get(provider);
    if (!ofProvider) this.rates.set(provider, (ofProvider = new Map<string, Rates>()));
    let rates = ofProvider.get(model);
    if (rates) return rates;
    const known = this.find(provider, model);
    const price = known ?? ZERO;
    rates = {
      input: parseDecimal(price.input, PRICE_DECIMALS),
      cachedInput: parseDecimal(price.cachedInput ?? price.input, PRICE_DECIMALS),
      output: parseDecimal(price.output, PRICE_DECIMALS),
    };
    // Unknown models (priced at 0) are not kept: their names are not bounded by the configuration.
    if (known) ofProvider.set(model, rates);
    return rates;
  }
}
