import { divRoundHalfUp, formatDecimal, fromMicroCents, parseDecimal } from '#src/metrics/money.js';
import type { LlmUsage, ProviderName } from './llm.types.js';

/**
 * USD per million tokens, as decimal strings. `cachedInput` (a cache read) defaults to `input`;
 * `cacheWrite` (a prompt token written to the cache) defaults to `input`, except Anthropic's, which
 * is 1.25 × `input` (its five-minute cache's write premium). `contextWindow`: the model's context
 * window in tokens (prompt + output), when known.
 */
export interface ModelPrice {
  input: string;
  output: string;
  cachedInput?: string;
  cacheWrite?: string;
  contextWindow?: number;
}

type PricedProvider = Exclude<ProviderName, 'local' | 'openrouter'>;

/**
 * List prices (USD per 1M tokens, standard tier, prompts ≤ 200k tokens) of current models, from the
 * providers' pricing pages (checked November 2026; Anthropic's newest generation from third-party
 * mirrors of its page). Prices change: `LLM_PRICES` overrides or extends this table without a
 * release. `local` models cost nothing.
 */
export const BUILT_IN_PRICES: Record<PricedProvider, Record<string, ModelPrice>> = {
  openai: {
    'gpt-5.1': { input: '1.25', cachedInput: '0.125', output: '10', contextWindow: 400_000 },
    'gpt-5': { input: '1.25', cachedInput: '0.125', output: '10', contextWindow: 400_000 },
    'gpt-5-mini': { input: '0.25', cachedInput: '0.025', output: '2', contextWindow: 400_000 },
    'gpt-5-nano': { input: '0.05', cachedInput: '0.005', output: '0.4', contextWindow: 400_000 },
    'gpt-4.1': { input: '2', cachedInput: '0.5', output: '8', contextWindow: 1_047_576 },
    'gpt-4.1-mini': { input: '0.4', cachedInput: '0.1', output: '1.6', contextWindow: 1_047_576 },
    'gpt-4.1-nano': { input: '0.1', cachedInput: '0.025', output: '0.4', contextWindow: 1_047_576 },
    'gpt-4o': { input: '2.5', cachedInput: '1.25', output: '10', contextWindow: 128_000 },
    'gpt-4o-mini': { input: '0.15', cachedInput: '0.075', output: '0.6', contextWindow: 128_000 },
    o3: { input: '2', cachedInput: '0.5', output: '8', contextWindow: 200_000 },
    'o4-mini': { input: '1.1', cachedInput: '0.275', output: '4.4', contextWindow: 200_000 },
  },
  anthropic: {
    'claude-opus-5-5': { input: '4', cachedInput: '0.2', output: '20', contextWindow: 200_000 },
    'claude-opus-5': { input: '5', cachedInput: '0.5', output: '25', contextWindow: 200_000 },
    'claude-sonnet-5-5': { input: '2', cachedInput: '0.1', output: '10', contextWindow: 200_000 },
    'claude-sonnet-5': { input: '2', cachedInput: '0.2', output: '10', contextWindow: 200_000 },
    'claude-opus-4-8': { input: '5', cachedInput: '0.5', output: '25', contextWindow: 200_000 },
    'claude-opus-4-7': { input: '5', cachedInput: '0.5', output: '25', contextWindow: 200_000 },
    'claude-opus-4-6': { input: '5', cachedInput: '0.5', output: '25', contextWindow: 200_000 },
    'claude-sonnet-4-6': { input: '3', cachedInput: '0.3', output: '15', contextWindow: 200_000 },
    'claude-opus-4-5': { input: '5', cachedInput: '0.5', output: '25', contextWindow: 200_000 },
    'claude-opus-4-1': { input: '15', cachedInput: '1.5', output: '75', contextWindow: 200_000 },
    'claude-opus-4': { input: '15', cachedInput: '1.5', output: '75', contextWindow: 200_000 },
    'claude-sonnet-4-5': { input: '3', cachedInput: '0.3', output: '15', contextWindow: 200_000 },
    'claude-sonnet-4': { input: '3', cachedInput: '0.3', output: '15', contextWindow: 200_000 },
    'claude-3-7-sonnet': { input: '3', cachedInput: '0.3', output: '15', contextWindow: 200_000 },
    'claude-haiku-4-5': { input: '1', cachedInput: '0.1', output: '5', contextWindow: 200_000 },
    'claude-3-5-haiku': { input: '0.8', cachedInput: '0.08', output: '4', contextWindow: 200_000 },
  },
  google: {
    'gemini-3-pro-preview': { input: '2', cachedInput: '0.2', output: '12', contextWindow: 1_048_576 },
    'gemini-2.5-pro': { input: '1.25', cachedInput: '0.125', output: '10', contextWindow: 1_048_576 },
    'gemini-2.5-flash': { input: '0.3', cachedInput: '0.03', output: '2.5', contextWindow: 1_048_576 },
    'gemini-2.5-flash-lite': { input: '0.1', cachedInput: '0.01', output: '0.4', contextWindow: 1_048_576 },
    'gemini-2.0-flash': { input: '0.1', cachedInput: '0.025', output: '0.4', contextWindow: 1_048_576 },
  },
};

/** The default model of each provider when only a provider name is given (e.g. in LLM_FALLBACK_ORDER). */
export const PROVIDER_DEFAULT_MODELS: Record<Exclude<ProviderName, 'local'>, string> = {
  openai: 'gpt-4o',
  anthropic: 'claude-sonnet-4-6',
  google: 'gemini-2.5-flash',
  openrouter: 'openai/gpt-4o',
};

/** OpenRouter model ids are `vendor/model`; these vendors' models are priced from their own table. */
const OPENROUTER_VENDORS: Record<string, PricedProvider> = {
  openai: 'openai',
  anthropic: 'anthropic',
  google: 'google',
};

/** Anthropic's cache write premium: 1.25 × the input price (five-minute cache), in hundredths. */
const ANTHROPIC_CACHE_WRITE_PERCENT = 125n;

const PRICE_DECIMALS = 12;
const ZERO: ModelPrice = { input: '0', output: '0', cachedInput: '0' };

/** A price as integers of 10^-12 USD per million tokens, ready for bigint arithmetic. */
interface Rates {
  input: bigint;
  cachedInput: bigint;
  cacheWrite: bigint;
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
    if (provider === 'openrouter') return this.openRouterPrice(model);
    return this.builtIn(provider, model);
  }

  /** The context window of a model in tokens, or undefined when unknown (no check is made then). */
  contextWindow(provider: ProviderName, model: string): number | undefined {
    return this.find(provider, model)?.contextWindow;
  }

  private builtIn(provider: PricedProvider, model: string): ModelPrice | undefined {
    const builtIn = BUILT_IN_PRICES[provider];
    if (builtIn[model]) return builtIn[model];
    // `gpt-4o-2024-08-06`, `claude-sonnet-4-5-20250929`: the longest family name that prefixes it.
    const family = Object.keys(builtIn)
      .filter((name) => model.startsWith(`${name}-`))
      .sort((a, b) => b.length - a.length)[0];
    return family ? builtIn[family] : undefined;
  }

  /**
   * `anthropic/claude-sonnet-4.5` is priced as `anthropic:claude-sonnet-4-5` (OpenRouter writes
   * versions with dots, Anthropic with dashes). Its usage-reported cost, when present, wins anyway.
   */
  private openRouterPrice(model: string): ModelPrice | undefined {
    const slash = model.indexOf('/');
    const vendor = OPENROUTER_VENDORS[model.slice(0, slash)];
    if (slash <= 0 || !vendor) return undefined;
    const name = model.slice(slash + 1).replace(/:.*$/, ''); // `:free`, `:nitro` variants
    const price = this.builtIn(vendor, name) ?? this.builtIn(vendor, name.replace(/\./g, '-'));
    // OpenRouter passes Anthropic's cache pricing through: keep the write premium.
    return price && vendor === 'anthropic' && !price.cacheWrite
      ? { ...price, cacheWrite: anthropicCacheWrite(price.input) }
      : price;
  }

  has(provider: ProviderName, model: string): boolean {
    return this.find(provider, model) !== undefined;
  }

  /**
   * Cost in USD of one call, exact to 10^-8 (half-up). `usage.inputTokens` counts every prompt
   * token; the `cachedInputTokens` (cache reads) among them are billed at the cached price and the
   * `cacheWriteTokens` at the cache-write price.
   */
  cost(provider: ProviderName, model: string, usage: LlmUsage): string {
    const { input, cachedInput, cacheWrite, output } = this.ratesOf(provider, model);
    const all = BigInt(usage.inputTokens);
    const cached = BigInt(Math.min(usage.cachedInputTokens, usage.inputTokens));
    const written = BigInt(Math.min(usage.cacheWriteTokens ?? 0, usage.inputTokens - Number(cached)));
    const uncached = all - cached - written;
    // tokens × (USD per 10^6 tokens × 10^12) = USD × 10^18; money keeps 10^-8.
    const units18 =
      uncached * input + cached * cachedInput + written * cacheWrite + BigInt(usage.outputTokens) * output;
    return fromMicroCents(divRoundHalfUp(units18, 10n ** 10n));
  }

  private ratesOf(provider: ProviderName, model: string): Rates {
    let ofProvider = this.rates.get(provider);
    if (!ofProvider) this.rates.set(provider, (ofProvider = new Map<string, Rates>()));
    let rates = ofProvider.get(model);
    if (rates) return rates;
    const known = this.find(provider, model);
    const price = known ?? ZERO;
    const input = parseDecimal(price.input, PRICE_DECIMALS);
    rates = {
      input,
      cachedInput: parseDecimal(price.cachedInput ?? price.input, PRICE_DECIMALS),
      cacheWrite: price.cacheWrite
        ? parseDecimal(price.cacheWrite, PRICE_DECIMALS)
        : provider === 'anthropic'
          ? (input * ANTHROPIC_CACHE_WRITE_PERCENT) / 100n
          : input,
      output: parseDecimal(price.output, PRICE_DECIMALS),
    };
    // Unknown models (priced at 0) are not kept: their names are not bounded by the configuration.
    if (known) ofProvider.set(model, rates);
    return rates;
  }
}

/** 1.25 × an input price, as an exact decimal string. */
function anthropicCacheWrite(input: string): string {
  return formatDecimal((parseDecimal(input, PRICE_DECIMALS) * ANTHROPIC_CACHE_WRITE_PERCENT) / 100n, PRICE_DECIMALS);
}
