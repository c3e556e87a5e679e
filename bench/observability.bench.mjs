// Observability (issue 15): the API process's live route with OpenTelemetry tracing on (exporting
// every request's spans over OTLP/HTTP to a receiver listening on 127.0.0.1) ÷ the same route with
// tracing off (OTEL_EXPORTER_OTLP_ENDPOINT unset: no SDK loaded), measured in interleaved rounds of
// the same run. Target ≥ 0.9. (Trajectory storage per model call is in tool-loop.bench.mjs, where a
// run's tool loop makes the model calls.)
import { createServer } from 'node:http';

/** A local OTLP/HTTP receiver that reads and acknowledges every export (and counts the bytes). */
async function startReceiver() {
  let exports = 0;
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on('data', (chunk) => (bytes += chunk.length));
    req.on('end', () => {
      exports++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    stats: () => ({ exports, bytes }),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

async function post(url, body, headers = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** A signed-in user's Bearer header on one API process. */
async function bearer(api) {
  const email = `bench-otel-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}@example.test`;
  const password = `Bench-${Math.random().toString(36).slice(2)}-pw`;
  await post(`${api.url}/api/v1/auth/register`, { email, password });
  const login = await post(`${api.url}/api/v1/auth/login`, { email, password });
  return { authorization: `Bearer ${login.accessToken}` };
}

export async function run(ctx) {
  const receiver = await startReceiver();
  const off = await ctx.startApi({ WORKER_IN_PROCESS: 'false' });
  const on = await ctx.startApi({
    WORKER_IN_PROCESS: 'false',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_SERVICE_NAME: 'quorum-bench',
  });
  let best;
  let traced;
  try {
    // The live route is a probe, which is not traced (OTEL_TRACE_PROBES unset): this pair shows
    // what loading the SDK costs a probe, which goes around the HTTP and Express instrumentations
    // (src/telemetry/untraced-probes.ts) but still runs in a process with them loaded.
    best = await ctx.bestOf({
      off: (o) => ctx.load(`${off.url}/api/v1/health/live`, o),
      on: (o) => ctx.load(`${on.url}/api/v1/health/live`, o),
    });
    // A signed-in route, traced on every request (the default sampler): HTTP, route handler, pg
    // and Redis spans, exported over OTLP.
    const [offAuth, onAuth] = [await bearer(off), await bearer(on)];
    traced = await ctx.bestOf({
      off: (o) => ctx.load(`${off.url}/api/v1/users/me`, { headers: offAuth, ...o }),
      on: (o) => ctx.load(`${on.url}/api/v1/users/me`, { headers: onAuth, ...o }),
    });
  } finally {
    await Promise.all([off.stop(), on.stop()]);
  }
  // The tracing process exports what is left when it stops (its shutdown hook).
  const { exports, bytes } = receiver.stats();
  await receiver.close();
  if (exports === 0) throw new Error('the receiver got no spans: tracing was not on');
  const round = (n, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
  const s = 'GET /api/v1/health/live (API process, a probe: not traced), OpenTelemetry tracing on ÷ off';
  const t = 'GET /api/v1/users/me (API process, every request traced), OpenTelemetry tracing on ÷ off';
  return [
    { scenario: s, metric: 'requests/s, tracing off', value: round(best.off.rps, 0) },
    {
      scenario: s,
      metric: 'requests/s, tracing on (OTLP/HTTP protobuf to a local receiver)',
      value: round(best.on.rps, 0),
      baseline: round(best.off.rps, 0),
      ratio: round(best.on.rps / best.off.rps),
      target: '≥ 0.9',
      pass: best.on.rps / best.off.rps >= 0.9,
    },
    {
      scenario: s,
      metric: 'requests/s ratio, median of same-round ratios',
      value: round(ctx.pairedMedian(best, 'on', 'off')),
    },
    {
      scenario: s,
      metric: 'p50 / p99 latency (ms), tracing off / on',
      value: `${best.off.p50} / ${best.off.p99} — ${best.on.p50} / ${best.on.p99}`,
    },
    { scenario: t, metric: 'requests/s, tracing off', value: round(traced.off.rps, 0) },
    {
      scenario: t,
      metric: 'requests/s, tracing on (every request sampled; no target: lower it with OTEL_TRACES_SAMPLER)',
      value: round(traced.on.rps, 0),
      baseline: round(traced.off.rps, 0),
      ratio: round(traced.on.rps / traced.off.rps),
    },
    {
      scenario: t,
      metric: 'p50 / p99 latency (ms), tracing off / on',
      value: `${traced.off.p50} / ${traced.off.p99} — ${traced.on.p50} / ${traced.on.p99}`,
    },
    { scenario: s, metric: 'OTLP exports received / bytes', value: `${exports} / ${bytes}` },
  ];
}
