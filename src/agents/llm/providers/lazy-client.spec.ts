import { lazyClient } from './llm-provider.js';

describe('lazyClient', () => {
  it('builds the client once, on the first call, and shares it', async () => {
    let builds = 0;
    const client = lazyClient(async () => ({ id: ++builds }));
    expect(builds).toBe(0);
    const [a, b] = await Promise.all([client(), client()]);
    expect(a).toBe(b);
    expect(await client()).toBe(a);
    expect(builds).toBe(1);
  });

  it('tries again after a failed build instead of keeping the failure', async () => {
    let attempts = 0;
    const client = lazyClient(async () => {
      attempts++;
      if (attempts === 1) throw new Error('import failed');
      return { ok: true };
    });
    await expect(client()).rejects.toThrow('import failed');
    expect(await client()).toEqual({ ok: true });
    expect(attempts).toBe(2);
  });
});
