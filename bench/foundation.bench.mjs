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
  const bareNode = await ctx.load(`${node.url}/`);
  await node.stop();

  const nest = await ctx.startServer('bench/servers/nest-hello.mjs');
  const bareNest = await ctx.load(`${nest.url}/hello`);
  await nest.stop();

  // Production runs API processes without the consumers (WORKER_IN_PROCESS=false); the one-command
  // start hosts them too. Idle RSS of both, each after a few quiet seconds.
  const apiOnly = await ctx.startApi({ WORKER_IN_PROCESS: 'false' });
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  const apiOnlyRss = rssMb(apiOnly.pid);
  await apiOnly.stop();

  const api = await ctx.startApi();
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  const idleRss = rssMb(api.pid);
  const live = await ctx.load(`${api.url}/api/v1/health/live`);
  await api.stop();

  for (const [name, result] of [
    ['bare node:http hello', bareNode],
    ['bare Nest hello', bareNest],
    ['GET /api/v1/health/live (real app)', live],
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
  rows.push({ scenario: 'API process idle (WORKER_IN_PROCESS=false)', metric: 'RSS (MB)', value: round(apiOnlyRss, 0), target: '< 200', pass: apiOnlyRss < 200 });
  rows.push({ scenario: 'API + in-process worker idle (npm start)', metric: 'RSS (MB)', value: round(idleRss, 0), target: '< 200', pass: idleRss < 200 });
  return rows;
}
