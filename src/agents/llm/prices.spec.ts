import { BUILT_IN_PRICES, PriceTable } from './prices.js';

describe('PriceTable', () => {
  const table = new PriceTable({
    'my-model': { input: '0.1', output: '0.3' },
    'openai:gpt-4o': { input: '3', output: '12', cachedInput: '1' },
  });

  it('prices per million tokens exactly, with cached input at its own price', () => {
    const prices = new PriceTable();
    expect(
      prices.cost('openai', 'gpt-4o', { inputTokens: 1_000_000, outputTokens: 1_000_000, cachedInputTokens: 0 }),
    ).toBe('12.50000000');
    // 800 × 2.5/M + 200 × 1.25/M + 100 × 10/M = 0.002 + 0.00025 + 0.001
    expect(prices.cost('openai', 'gpt-4o', { inputTokens: 1000, outputTokens: 100, cachedInputTokens: 200 })).toBe(
      '0.00325000',
    );
    expect(
      prices.cost('anthropic', 'claude-sonnet-4-6', { inputTokens: 3, outputTokens: 7, cachedInputTokens: 0 }),
    ).toBe('0.00011400');
    expect(
      prices.cost('google', 'gemini-2.5-flash', { inputTokens: 1_234_567, outputTokens: 89, cachedInputTokens: 0 }),
    ).toBe('0.37059260');
  });

  it('rounds half up at the eighth decimal and never uses floats', () => {
    const prices = new PriceTable();
    // 1 token × 0.15/M = 0.00000015; 1 × 0.075/M = 0.000000075 → 0.00000008
    expect(prices.cost('openai', 'gpt-4o-mini', { inputTokens: 1, outputTokens: 0, cachedInputTokens: 1 })).toBe(
      '0.00000008',
    );
    // 0.1 + 0.2 style sums stay exact: 3 × 0.1/M × 10^6
    expect(table.cost('openai', 'my-model', { inputTokens: 3_000_000, outputTokens: 0, cachedInputTokens: 0 })).toBe(
      '0.30000000',
    );
  });

  it('prefers LLM_PRICES overrides, by provider:model or model', () => {
    expect(
      table.cost('openai', 'gpt-4o', { inputTokens: 1_000_000, outputTokens: 0, cachedInputTokens: 500_000 }),
    ).toBe('2.00000000');
    expect(table.cost('anthropic', 'my-model', { inputTokens: 0, outputTokens: 1_000_000, cachedInputTokens: 0 })).toBe(
      '0.30000000',
    );
  });

  it('maps dated snapshots to their family and prices local models at zero', () => {
    const prices = new PriceTable();
    expect(prices.find('openai', 'gpt-4o-2024-08-06')).toBe(BUILT_IN_PRICES.openai['gpt-4o']);
    expect(prices.find('openai', 'gpt-4o-mini-2024-07-18')).toBe(BUILT_IN_PRICES.openai['gpt-4o-mini']);
    expect(prices.find('anthropic', 'claude-sonnet-4-5-20250929')).toBe(BUILT_IN_PRICES.anthropic['claude-sonnet-4-5']);
    expect(prices.has('openai', 'gpt-99')).toBe(false);
    expect(prices.cost('local', 'anything', { inputTokens: 10_000, outputTokens: 10_000, cachedInputTokens: 0 })).toBe(
      '0.00000000',
    );
  });
});

describe('PriceTable: prompt caching and OpenRouter', () => {
  const prices = new PriceTable();

  it('prices Anthropic cache writes at 1.25× input and reads at the cached rate, exactly', () => {
    // 1000 plain × 3 + 2000 written × 3.75 + 4000 read × 0.3 + 100 × 15 per million
    expect(
      prices.cost('anthropic', 'claude-sonnet-4-6', {
        inputTokens: 7000,
        cachedInputTokens: 4000,
        cacheWriteTokens: 2000,
        outputTokens: 100,
      }),
    ).toBe('0.01320000');
    // claude-3-5-haiku: 0.8 → write 1.0; one written token = 0.000001
    expect(
      prices.cost('anthropic', 'claude-3-5-haiku', {
        inputTokens: 1,
        cachedInputTokens: 0,
        cacheWriteTokens: 1,
        outputTokens: 0,
      }),
    ).toBe('0.00000100');
  });

  it('prices OpenAI cache writes as plain input (no premium), and an LLM_PRICES cacheWrite wins', () => {
    const usage = { inputTokens: 1000, cachedInputTokens: 0, cacheWriteTokens: 1000, outputTokens: 0 };
    expect(prices.cost('openai', 'gpt-4o', usage)).toBe('0.00250000');
    const custom = new PriceTable({ 'openai:gpt-4o': { input: '2.5', output: '10', cacheWrite: '5' } });
    expect(custom.cost('openai', 'gpt-4o', usage)).toBe('0.00500000');
  });

  it('prices OpenRouter models from their vendor (dots or dashes) and knows context windows', () => {
    expect(prices.find('openrouter', 'anthropic/claude-sonnet-4.5')).toMatchObject({
      input: '3',
      cacheWrite: '3.750000000000',
    });
    expect(prices.find('openrouter', 'openai/gpt-4.1-mini')).toMatchObject({ input: '0.4' });
    expect(prices.find('openrouter', 'meta-llama/llama-3-70b')).toBeUndefined();
    expect(prices.contextWindow('openai', 'gpt-4o-2024-08-06')).toBe(128_000);
    expect(prices.contextWindow('openrouter', 'google/gemini-2.5-pro')).toBe(1_048_576);
    expect(prices.contextWindow('local', 'qwen2.5-coder')).toBeUndefined();
  });
});
