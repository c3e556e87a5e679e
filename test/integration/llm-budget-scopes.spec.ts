import { randomBytes } from 'node:crypto';
import { userActor } from '../../src/audit/audit.service.js';
import { LlmGatewayService } from '../../src/agents/llm/llm-gateway.service.js';
import type { LlmCallRequest } from '../../src/agents/llm/llm.types.js';
import { BudgetService } from '../../src/metrics/budget.service.js';
import { compareMoney, fromMicroCents, toMicroCents } from '../../src/metrics/money.js';
import { WebhooksService } from '../../src/webhooks/webhooks.service.js';
import { startFakeLlm, FakeLlm } from '../support/fake-llm/index.js';
import { createLlmContext, createUserRow, fakeLlmEnv, LlmTestContext } from '../support/llm.js';

describe('LLM budgets at every level (user, organization, member, API key, task)', () => {
  let fake: FakeLlm;
  let ctx: LlmTestContext;
  let gateway: LlmGatewayService;
  let budgets: BudgetService;

  const request = (context: LlmCallRequest['context']): LlmCallRequest => ({
    context,
    messages: [{ role: 'user', content: 'Write the code.' }],
    maxTokens: 1000,
  });

  async function createOrg(members: string[]): Promise<string> {
    const [org] = await ctx.dataSource.query<{ id: string }[]>(
      `INSERT INTO organizations (name) VALUES ($1) RETURNING id`,
      [`org-${randomBytes(4).toString('hex')}`],
    );
    for (const [i, userId] of members.entries()) {
      await ctx.dataSource.query('INSERT INTO org_memberships (org_id, user_id, role) VALUES ($1, $2, $3)', [
        org.id,
        userId,
        i === 0 ? 'owner' : 'member',
      ]);
    }
    return org.id;
  }

  async function createKeyRow(userId: string, orgId: string, limit: string): Promise<string> {
    const [key] = await ctx.dataSource.query<{ id: string }[]>(
      `INSERT INTO api_keys (user_id, org_id, name, prefix, key_hash, scopes, monthly_limit_usd)
       VALUES ($1, $2, 'ci', 'qk_test', $3, '{tasks:write}', $4) RETURNING id`,
      [userId, orgId, randomBytes(32).toString('hex'), limit],
    );
    return key.id;
  }

  beforeAll(async () => {
    fake = await startFakeLlm();
    ctx = await createLlmContext({
      env: fakeLlmEnv(fake, { LLM_MAX_RETRIES: '0', WEBHOOK_ALLOW_PRIVATE_URLS: 'true' }),
    });
    gateway = ctx.app.get(LlmGatewayService);
    budgets = ctx.app.get(BudgetService);
  });
  afterAll(async () => {
    await ctx.close();
    await fake.close();
  });
  afterEach(() => fake.reset());

  it('30 parallel calls of three members against limits that fit 10: no limit is overshot', async () => {
    const [alice, bob, carol] = await Promise.all([1, 2, 3].map(() => createUserRow(ctx.dataSource)));
    const orgId = await createOrg([alice, bob, carol]);
    const worstCase = gateway.worstCaseCost(request({ userId: alice, agent: 'coder' }));
    const fits = (n: bigint) => fromMicroCents(toMicroCents(worstCase) * n + 1n);
    // The organization fits 10 calls, each member 4, Alice's key 3: together at most 3 + 4 + 4 = 11
    // could start, so the organization's limit is the one that stops the tenth.
    await budgets.setOrgBudget(orgId, { monthlyLimitUsd: fits(10n), memberMonthlyLimitUsd: fits(4n) });
    const keyId = await createKeyRow(alice, orgId, fits(3n));

    let refusedSoFar = 0;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const check = () => {
      if (fake.requests.length + refusedSoFar === 30) open();
    };
    // No answer comes back (and settles) before every call was admitted or refused.
    fake.script(async () => {
      check();
      await gate;
      return { text: 'done', usage: { input: 10, output: 500 } };
    });
    const members = [
      { userId: alice, apiKeyId: keyId },
      { userId: bob, apiKeyId: null },
      { userId: carol, apiKeyId: null },
    ];
    const calls = members.flatMap((member) =>
      Array.from({ length: 10 }, () =>
        gateway
          .call(request({ ...member, orgId, agent: 'coder' }))
          .then(() => member.userId)
          .catch((error: unknown) => {
            refusedSoFar++;
            check();
            throw error;
          }),
      ),
    );
    const results = await Promise.allSettled(calls);
    const ok = results.filter((r) => r.status === 'fulfilled').map((r) => r.value);
    expect(ok).toHaveLength(10);
    expect(fake.requests).toHaveLength(10);
    const per = (userId: string) => ok.filter((id) => id === userId).length;
    expect(per(alice)).toBeLessThanOrEqual(3);
    expect(per(bob)).toBeLessThanOrEqual(4);
    expect(per(carol)).toBeLessThanOrEqual(4);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'BUDGET_EXCEEDED', status: 402 });
    }
    const scopes = results.flatMap((r) =>
      r.status === 'rejected' ? [(r.reason as { detail: { scope: string } }).detail.scope] : [],
    );
    // Which limit refuses a call depends on the order they arrive in; each refusal names one of these.
    for (const scope of scopes) expect(['org', 'member', 'apiKey']).toContain(scope);

    const org = await budgets.orgStatus(orgId);
    expect(org.reservedUsd).toBe('0.00000000');
    expect(compareMoney(org.spentUsd, fits(10n))).toBeLessThanOrEqual(0);
    // 10 × (10 × 2.5/M + 500 × 10/M)
    expect(org.spentUsd).toBe('0.05025000');
    // The running totals the reservations read agree with the usage rows, for every scope.
    const totals = await ctx.dataSource.query<{ scope: string; scope_id: string; spent_usd: string }[]>(
      `SELECT scope, scope_id, spent_usd FROM llm_spend WHERE scope_id LIKE $1 || '%' OR scope_id = ANY($2)`,
      [orgId, [alice, bob, carol, keyId]],
    );
    const summed = await ctx.dataSource.query<{ scope: string; scope_id: string; spent_usd: string }[]>(
      `SELECT 'org' AS scope, org_id::text AS scope_id, SUM(cost_usd)::numeric(18,8)::text AS spent_usd
         FROM llm_usage WHERE org_id = $1 GROUP BY org_id
       UNION ALL
       SELECT 'member', org_id::text || ':' || user_id::text, SUM(cost_usd)::numeric(18,8)::text
         FROM llm_usage WHERE org_id = $1 GROUP BY org_id, user_id
       UNION ALL
       SELECT 'user', user_id::text, SUM(cost_usd)::numeric(18,8)::text FROM llm_usage WHERE org_id = $1 GROUP BY user_id
       UNION ALL
       SELECT 'apiKey', api_key_id::text, SUM(cost_usd)::numeric(18,8)::text
         FROM llm_usage WHERE org_id = $1 AND api_key_id IS NOT NULL GROUP BY api_key_id`,
      [orgId],
    );
    const byKey = (rows: { scope: string; scope_id: string; spent_usd: string }[]) =>
      rows.map((row) => `${row.scope} ${row.scope_id} ${row.spent_usd}`).sort();
    expect(byKey(totals)).toEqual(byKey(summed));
    const rows = await ctx.dataSource.query<{ user_id: string; api_key_id: string | null; n: number }[]>(
      'SELECT user_id, api_key_id, count(*)::int AS n FROM llm_usage WHERE org_id = $1 GROUP BY 1, 2',
      [orgId],
    );
    expect(rows.reduce((sum, row) => sum + row.n, 0)).toBe(10);
    expect(rows.find((row) => row.user_id === alice)?.api_key_id ?? keyId).toBe(keyId);
  });

  it('a task’s maxCostUsd holds for parallel calls of its run', async () => {
    const userId = await createUserRow(ctx.dataSource);
    const taskId = (
      await ctx.dataSource.query<{ id: string }[]>(
        `INSERT INTO tasks (user_id, title, description, language, config) VALUES ($1, 't', 'd', 'python', '{}') RETURNING id`,
        [userId],
      )
    )[0].id;
    const worstCase = gateway.worstCaseCost(request({ userId, agent: 'coder' }));
    const limit = fromMicroCents(toMicroCents(worstCase) * 2n + 1n);
    fake.script(() => ({ text: 'done', usage: { input: 10, output: 500 } }));
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () =>
        gateway.call(request({ userId, taskId, taskMaxCostUsd: limit, agent: 'judge.security' })),
      ),
    );
    const refused = results.filter((r) => r.status === 'rejected');
    expect(results.length - refused.length).toBeGreaterThanOrEqual(2);
    for (const r of refused) expect(r.reason).toMatchObject({ code: 'BUDGET_EXCEEDED', detail: { scope: 'task' } });
    const [spent] = await ctx.dataSource.query<{ s: string }[]>(
      'SELECT COALESCE(SUM(cost_usd), 0)::numeric(18,8) AS s FROM llm_usage WHERE task_id = $1',
      [taskId],
    );
    expect(compareMoney(spent.s, limit)).toBeLessThanOrEqual(0);
  });

  it('thresholds (50 %, 80 %, 100 %) fire once per period and scope, to webhooks', async () => {
    const userId = await createUserRow(ctx.dataSource);
    await ctx.app
      .get(WebhooksService)
      .create(
        userId,
        null,
        { url: 'http://127.0.0.1:9/hooks', events: ['budget.threshold_reached'] },
        { actor: userActor(userId), ip: null, userAgent: null },
      );
    await budgets.setLimit(userId, '0.1');
    // Each call settles at 0.02 (2000 output tokens × 10 $/M), above its reservation: thresholds
    // are judged on the settled spend the next reservation sees.
    fake.script(() => ({ text: 'done', usage: { input: 0, output: 2000 } }));
    const outcomes: string[] = [];
    for (let i = 0; i < 7; i++) {
      outcomes.push(
        await gateway.call(request({ userId, agent: 'coder' })).then(
          () => 'ok',
          (error: { code: string }) => error.code,
        ),
      );
    }
    expect(outcomes).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'BUDGET_EXCEEDED', 'BUDGET_EXCEEDED']);
    // Ten more refusals at once report nothing new.
    await Promise.allSettled(Array.from({ length: 10 }, () => gateway.call(request({ userId, agent: 'coder' }))));

    const deliveries = await ctx.dataSource.query<{ data: Record<string, unknown> }[]>(
      `SELECT (body::jsonb)->'data' AS data FROM webhook_deliveries WHERE user_id = $1 AND event_type = 'budget.threshold_reached'`,
      [userId],
    );
    const events = deliveries.map((d) => d.data).sort((a, b) => Number(a.threshold) - Number(b.threshold));
    expect(events).toEqual([
      { scope: 'user', id: userId, limitUsd: '0.10000000', spentUsd: '0.06000000', threshold: 0.5 },
      { scope: 'user', id: userId, limitUsd: '0.10000000', spentUsd: '0.08000000', threshold: 0.8 },
      { scope: 'user', id: userId, limitUsd: '0.10000000', spentUsd: '0.10000000', threshold: 1 },
    ]);
  });
});
