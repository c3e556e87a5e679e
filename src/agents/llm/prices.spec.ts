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
