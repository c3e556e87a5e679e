// The HTTP foundation's cost: the real app's liveness route against a bare node:http hello and a
// bare Nest hello, all with the same load tool and connections in the same run; plus idle RSS.
import { readFileSync } from 'node:fs';

const round = (n, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

export async function run(ctx) {
  const rows = [];
  const node = await ctx.startServer('bench/servers/node-hello.mjs');
  const nest = await ctx.startServer('bench/servers/nest-hello.mjs');

  // Production runs API processes without the consumers (WORKER_IN_PROCESS=false), started as the
  // Docker image does with --max-semi-space-size=16; the one-command start hosts the consumers too,
  // with Node's defaults. Idle RSS of each after a few quiet seconds; the API process with V8's
  // default young generation is measured beside it, RSS and the live route, so the flag's price is
  // on the table.
  const idle = async (env, execArgv) => {
    const api = await ctx.startApi(env, execArgv);
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    return { api, rss: rssMb(api.pid) };
  };
  const app = await idle({});
  const apiOnly = await idle({ WORKER_IN_PROCESS: 'false' });
  const v8Default = await idle({ WORKER_IN_PROCESS: 'false' }, []);
  const idleRss = app.rss;

  const best = await ctx.bestOf({
    node: (o) => ctx.load(`${node.url}/`, o),
    nest: (o) => ctx.load(`${nest.url}/hello`, o),
    live: (o) => ctx.load(`${app.api.url}/api/v1/health/live`, o),
    apiOnlyLive: (o) => ctx.load(`${apiOnly.api.url}/api/v1/health/live`, o),
    v8DefaultLive: (o) => ctx.load(`${v8Default.api.url}/api/v1/health/live`, o),
  });
  const { node: bareNode, nest: bareNest, live, apiOnlyLive, v8DefaultLive } = best;
  const spread = (name) =>
    `${Math.round(Math.min(...best.rounds[name]))}–${Math.round(Math.max(...best.rounds[name]))}`;
  await Promise.all([node.stop(), nest.stop(), app.api.stop(), apiOnly.api.stop(), v8Default.api.stop()]);

  for (const [name, result] of [
    ['bare node:http hello', bareNode],
    ['bare Nest hello', bareNest],
    ['GET /api/v1/health/live (real app, npm start: API + in-process worker)', live],
    ['GET /api/v1/health/live (API process, WORKER_IN_PROCESS=false)', apiOnlyLive],
  ]) {
    rows.push({ scenario: name, metric: 'requests/s', value: round(result.rps, 0) });
    rows.push({ scenario: name, metric: 'p50 / p99 latency (ms)', value: `${result.p50} / ${result.p99}` });
  }
  rows.push({
    scenario: 'real app live ÷ bare Nest',
    metric: 'requests/s ratio',
    value: round(live.rps / bareNest.rps, 2),
    target: '≥ 0.70',
    pass: live.rps / bareNest.rps >= 0.7,
  });
  rows.push({
    scenario: 'API process live ÷ bare Nest',
    metric: 'requests/s ratio',
    value: round(apiOnlyLive.rps / bareNest.rps, 2),
  });
  rows.push({
    scenario: 'real app live ÷ bare Nest, median of same-round ratios',
    metric: 'requests/s ratio',
    value: round(ctx.pairedMedian(best, 'live', 'nest'), 2),
  });
  rows.push({
    scenario: 'API process live ÷ bare Nest, median of same-round ratios',
    metric: 'requests/s ratio',
    value: round(ctx.pairedMedian(best, 'apiOnlyLive', 'nest'), 2),
  });
  rows.push({
    scenario: 'spread of single rounds: bare Nest / real app live',
    metric: 'requests/s, lowest–highest',
    value: `${spread('nest')} / ${spread('live')}`,
  });
  rows.push({
    scenario: 'API process idle (WORKER_IN_PROCESS=false)',
    metric: 'RSS (MB)',
    value: round(apiOnly.rss, 0),
    target: '< 200',
    pass: apiOnly.rss < 200,
  });
  rows.push({
    scenario: 'API process idle, V8 default young generation (no --max-semi-space-size)',
    metric: 'RSS (MB)',
    value: round(v8Default.rss, 0),
  });
  rows.push({
    scenario: 'API process live route, --max-semi-space-size=16 ÷ V8 default',
    metric: 'requests/s ratio',
    value: round(apiOnlyLive.rps / v8DefaultLive.rps, 2),
    baseline: round(v8DefaultLive.rps, 0),
  });
  rows.push({ scenario: 'API + in-process worker idle (npm start)', metric: 'RSS (MB)', value: round(idleRss, 0) });
  return rows;
}
