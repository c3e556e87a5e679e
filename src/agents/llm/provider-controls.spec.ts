import { combine } from './provider-controls.service.js';

describe('combine (global and organization provider switches)', () => {
  it('skips a provider disabled by either scope', () => {
    const combined = combine(
      { openai: { disabled: true, forced: false } },
      { google: { disabled: true, forced: false } },
    );
    expect(combined.openai?.disabled).toBe(true);
    expect(combined.google?.disabled).toBe(true);
    // The organization cannot enable what the admin disabled.
    expect(
      combine({ openai: { disabled: true, forced: false } }, { openai: { disabled: false, forced: false } }).openai,
    ).toEqual({ disabled: true, forced: false });
  });

  it("lets the organization's forced provider win over the admin's, unless the admin disabled it", () => {
    const global = { google: { disabled: false, forced: true }, anthropic: { disabled: true, forced: false } };
    expect(combine(global, { openai: { disabled: false, forced: true } })).toEqual({
      google: { disabled: false, forced: false },
      anthropic: { disabled: true, forced: false },
      openai: { disabled: false, forced: true },
    });
    const forcedDisabled = combine(global, { anthropic: { disabled: false, forced: true } });
    expect(
      Object.entries(forcedDisabled)
        .filter(([, c]) => c?.forced)
        .map(([name]) => name),
    ).toEqual(['google']);
  });

  it('is the global set itself when the organization switched nothing', () => {
    const global = { openai: { disabled: true, forced: false } };
    expect(combine(global, {})).toBe(global);
  });
});
