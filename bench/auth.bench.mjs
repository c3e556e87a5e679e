// Auth costs: an authenticated GET /api/v1/users/me (JWT verify + session/user state from the
// Redis cache + one user row) against a bare Nest hello in the same run, and password sign-in
// throughput, which argon2id bounds by design (the parameters are recorded with the figure).
const round = (n, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

const ARGON2 = { ARGON2_MEMORY_KIB: '19456', ARGON2_TIME_COST: '2', ARGON2_PARALLELISM: '1' };

async function post(url, body, headers = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

export async function run(ctx) {
  const rows = [];
  const nest = await ctx.startServer('bench/servers/nest-hello.mjs');
  const api = await ctx.startApi(ARGON2);
  try {
    const email = `bench-${Date.now().toString(36)}@example.test`;
    const password = `Bench-${Math.random().toString(36).slice(2)}-pw`;
    await post(`${api.url}/api/v1/auth/register`, { email, password });
    const login = await post(`${api.url}/api/v1/auth/login`, { email, password });
    const best = await ctx.bestOf({
      nest: (o) => ctx.load(`${nest.url}/hello`, o),
      live: (o) => ctx.load(`${api.url}/api/v1/health/live`, o),
      me: (o) =>
        ctx.load(`${api.url}/api/v1/users/me`, { headers: { authorization: `Bearer ${login.accessToken}` }, ...o }),
    });
    const { nest: bareNest, live, me } = best;
    await nest.stop();
    const signIn = await ctx.load(`${api.url}/api/v1/auth/login`, {
      duration: 8,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });

    const ratio = me.rps / bareNest.rps;
    rows.push({ scenario: 'bare Nest hello', metric: 'requests/s', value: round(bareNest.rps, 0) });
    rows.push({
      scenario: 'bare Nest hello',
      metric: 'p50 / p99 latency (ms)',
      value: `${bareNest.p50} / ${bareNest.p99}`,
    });
    rows.push({
      scenario: 'GET /api/v1/users/me (Bearer)',
      metric: 'requests/s',
      value: round(me.rps, 0),
      baseline: round(bareNest.rps, 0),
    });
    rows.push({
      scenario: 'GET /api/v1/users/me (Bearer)',
      metric: 'p50 / p99 latency (ms)',
      value: `${me.p50} / ${me.p99}`,
    });
    rows.push({ scenario: 'GET /api/v1/users/me (Bearer)', metric: 'non-2xx + errors', value: me.errors });
    rows.push({
      scenario: 'users/me ÷ bare Nest',
      metric: 'requests/s ratio',
      value: round(ratio, 2),
      ratio: round(ratio, 2),
      target: '≥ 0.50',
      pass: ratio >= 0.5,
    });
    rows.push({
      scenario: 'users/me ÷ bare Nest, median of same-round ratios',
      metric: 'requests/s ratio',
      value: round(ctx.pairedMedian(best, 'me', 'nest'), 2),
    });
    // The same app's unauthenticated liveness route: what auth itself adds on top of the stack.
    rows.push({
      scenario: 'GET /api/v1/health/live (same app, no auth)',
      metric: 'requests/s',
      value: round(live.rps, 0),
    });
    rows.push({
      scenario: 'users/me ÷ live (auth cost within the app)',
      metric: 'requests/s ratio',
      value: round(me.rps / live.rps, 2),
    });
    rows.push({
      scenario: `POST /api/v1/auth/login (argon2id m=${ARGON2.ARGON2_MEMORY_KIB} KiB, t=${ARGON2.ARGON2_TIME_COST}, p=${ARGON2.ARGON2_PARALLELISM})`,
      metric: 'requests/s',
      value: round(signIn.rps, 1),
    });
    rows.push({
      scenario: 'POST /api/v1/auth/login',
      metric: 'p50 / p99 latency (ms)',
      value: `${signIn.p50} / ${signIn.p99}`,
    });
    rows.push({ scenario: 'POST /api/v1/auth/login', metric: 'non-2xx + errors', value: signIn.errors });
  } finally {
    await Promise.all([nest.stop(), api.stop()]);
  }
  return rows;
}
