import type { ResolvedModel } from './model-ref.js';
import { chooseRoute, scoreOf } from './routing-policy.js';

const sonnet: ResolvedModel = { provider: 'anthropic', model: 'claude-sonnet-4-6' };
const gpt: ResolvedModel = { provider: 'openai', model: 'gpt-4o' };

describe('routing policy', () => {
  it('scores cost relative to the cheapest, plus a penalty past the SLO', () => {
    expect(scoreOf(100n, 100n, undefined, 1000)).toBe(1);
    expect(scoreOf(150n, 100n, 900, 1000)).toBe(1.5);
    expect(scoreOf(100n, 100n, 1500, 1000)).toBe(2.5); // 1 + 1 + 0.5
    expect(scoreOf(100n, 100n, 5000)).toBe(1); // no SLO: latency does not count
  });

  it('picks the cheapest within the SLO, and a dearer one when the cheap one is too slow', () => {
    const facts = (p95: Record<string, number>) => (c: ResolvedModel) => ({
      cost: c.provider === 'openai' ? 80n : 100n,
      p95Ms: p95[c.provider],
      skip: null,
    });
    const cheap = chooseRoute({
      candidates: [sonnet, gpt],
      facts: facts({ openai: 900, anthropic: 800 }),
      latencySloMs: 1000,
    });
    expect(cheap.decision.chosen).toBe('openai:gpt-4o');
    expect(cheap.order).toEqual([gpt, sonnet]);
    const slow = chooseRoute({
      candidates: [sonnet, gpt],
      facts: facts({ openai: 3000, anthropic: 800 }),
      latencySloMs: 1000,
    });
    expect(slow.decision).toMatchObject({
      chosen: 'anthropic:claude-sonnet-4-6',
      reason: expect.stringContaining('≤ SLO 1000 ms'),
    });
  });

  it('skips candidates that cannot serve and says why; a forced provider wins', () => {
    const facts = (c: ResolvedModel) => ({ cost: 1n, skip: c.provider === 'openai' ? 'disabled by admin' : null });
    const out = chooseRoute({ candidates: [gpt, sonnet], facts });
    expect(out.order).toEqual([sonnet]);
    expect(out.decision.reason).toContain('openai:gpt-4o skipped: disabled by admin');
    const forced = chooseRoute({
      candidates: [gpt, sonnet],
      facts: () => ({ cost: 1n, skip: null }),
      forced: { target: sonnet, listed: true },
    });
    expect(forced.order).toEqual([sonnet, gpt]);
    expect(forced.decision.reason).toBe('forced by admin (anthropic)');
  });
});
