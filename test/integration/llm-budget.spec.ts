import { LlmGatewayService } from '../../src/agents/llm/llm-gateway.service.js';
import type { LlmCallRequest } from '../../src/agents/llm/llm.types.js';
import { BudgetService } from '../../src/metrics/budget.service.js';
import { compareMoney, fromMicroCents, toMicroCents } from '../../src/metrics/money.js';
import { startFakeLlm, FakeLlm } from '../support/fake-llm/index.js';
import { createLlmContext, createUserRow, fakeLlmEnv, LlmTestContext } from '../support/llm.js';

describe('LLM budgets hold under concurrency', () => {
  let fake: FakeLlm;
  let ctx: LlmTestContext;
  let gateway: LlmGatewayService;
  let budgets: BudgetService;

  // A fixed prompt so the worst case is the same for every call.
  const request = (userId: string, over: Partial<LlmCallRequest> = {}): LlmCallRequest => ({
    context: { userId, agent: 'coder' },
    messages: [{ role: 'user', content: 'Write the code.' }],
    maxTokens: 1000,
    ...over,
  });

  beforeAll(async () => {
    fake = await startFakeLlm();
    // gpt-4o: 2.5 $/M in, 10 $/M out. Worst case per call ≈ 1000 × 10/M + prompt bound × 2.5/M ≈ 0.0102.
    ctx = await createLlmContext({ env: fakeLlmEnv(fake, { LLM_MAX_RETRIES: '0' }) });
    gateway = ctx.app.get(LlmGatewayService);
    budgets = ctx.app.get(BudgetService);
  });
  afterAll(async () => {
    await ctx.close();
    await fake.close();
  });
  afterEach(() => fake.reset());

  it('lets exactly the calls that fit run when 20 start at once, and spend stays within the limit', async () => {
    const userId = await createUserRow(ctx.dataSource);
    const worstCase = gateway.worstCaseCost(request(userId));
    const limit = fromMicroCents(toMicroCents(worstCase) * 5n + 1n);
    await budgets.setLimit(userId, limit);

    // Answers are held until every call has either reached the provider or been refused, so no
    // settlement frees room early: exactly the five reservations that fit may run.
    let refusedSoFar = 0;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const check = () => {
      if (fake.requests.length + refusedSoFar === 20) open();
    };
    // Each answer costs less than its reservation (10 in, 500 out < prompt bound, 1000 max).
    fake.script(async () => {
      check();
      await gate;
      return { text: 'done', usage: { input: 10, output: 500 } };
    });
    const calls = Array.from({ length: 20 }, () =>
      gateway.call(request(userId)).catch((error: unknown) => {
        refusedSoFar++;
        check();
        throw error;
      }),
    );
    const results = await Promise.allSettled(calls);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected');
    expect(ok).toHaveLength(5);
    expect(refused).toHaveLength(15);
    for (const r of refused) expect(r.reason).toMatchObject({ code: 'BUDGET_EXCEEDED', status: 402 });
    expect(fake.requests).toHaveLength(5);

    const status = await budgets.status(userId);
    expect(status.reservedUsd).toBe('0.00000000');
    expect(compareMoney(status.spentUsd, limit)).toBeLessThanOrEqual(0);
    // 5 × (10 × 2.5/M + 500 × 10/M) = 5 × 0.005025
    expect(status.spentUsd).toBe('0.02512500');
  });

  it('releases what a call did not spend, so later calls fit again', async () => {
    const userId = await createUserRow(ctx.dataSource);
    fake.script(() => ({ text: 'tiny', usage: { input: 1, output: 1 } }));
    const worstCase = gateway.worstCaseCost(request(userId));
    await budgets.setLimit(userId, fromMicroCents((toMicroCents(worstCase) * 3n) / 2n));
    // Each call reserves the worst case but settles a tiny cost: many fit one after another.
    for (let i = 0; i < 5; i++) await gateway.call(request(userId));
    expect(fake.requests).toHaveLength(5);
  });

  it('refuses before calling the provider when the budget is spent, and allows again when raised or removed', async () => {
    const userId = await createUserRow(ctx.dataSource);
    await budgets.setLimit(userId, '0.00000000');
    await expect(gateway.call(request(userId))).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED' });
    expect(fake.requests).toHaveLength(0);
    await budgets.setLimit(userId, null);
    await expect(gateway.call(request(userId))).resolves.toMatchObject({ provider: 'openai' });
  });

  it('releases the reservation when a call fails', async () => {
    const userId = await createUserRow(ctx.dataSource);
    await budgets.setLimit(userId, '5.00000000');
    fake.script('gpt-4o', { kind: 'error', status: 400, message: 'bad request' });
    await expect(gateway.call(request(userId))).rejects.toMatchObject({ code: 'LLM_REQUEST_REJECTED' });
    expect((await budgets.status(userId)).reservedUsd).toBe('0.00000000');
  });
});
