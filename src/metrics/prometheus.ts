import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The process's Prometheus registry and series. One registry per process (not per Nest app): the
 * series are process-wide, like the default Node metrics collected beside them.
 */
export const metricsRegistry = new Registry();

let llm: ReturnType<typeof createLlmMetrics> | undefined;
let platform: ReturnType<typeof createPlatformMetrics> | undefined;
let maintenance: ReturnType<typeof createMaintenanceMetrics> | undefined;
let defaultsCollected = false;

function createPlatformMetrics() {
  return {
    httpRequests: new Counter({
      name: 'quorum_http_requests_total',
      help: 'HTTP requests by method, route template and status code.',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [metricsRegistry],
    }),
    httpDuration: new Histogram({
      name: 'quorum_http_request_duration_seconds',
      help: 'HTTP request latency by method and route template.',
      labelNames: ['method', 'route'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [metricsRegistry],
    }),
    queueJobs: new Gauge({
      name: 'quorum_queue_jobs',
      help: 'BullMQ jobs per queue and state, read at scrape time.',
      labelNames: ['queue', 'state'] as const,
      registers: [metricsRegistry],
    }),
  };
}

export function platformMetrics(): ReturnType<typeof createPlatformMetrics> {
  platform ??= createPlatformMetrics();
  return platform;
}

function createLlmMetrics() {
  return {
    calls: new Counter({
      name: 'quorum_llm_calls_total',
      help: 'Model call attempts by provider, model, agent and outcome.',
      labelNames: ['provider', 'model', 'agent', 'outcome'] as const,
      registers: [metricsRegistry],
    }),
    latency: new Histogram({
      name: 'quorum_llm_call_duration_seconds',
      help: 'Latency of model call attempts.',
      labelNames: ['provider', 'model', 'outcome'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [metricsRegistry],
    }),
    tokens: new Counter({
      name: 'quorum_llm_tokens_total',
      help: 'Tokens by provider, model and kind (input, output, cached_input).',
      labelNames: ['provider', 'model', 'kind'] as const,
      registers: [metricsRegistry],
    }),
    cost: new Counter({
      name: 'quorum_llm_cost_usd_total',
      help: 'Cost in USD of model calls (float view of the exact decimal usage records).',
      labelNames: ['provider', 'model'] as const,
      registers: [metricsRegistry],
    }),
    breakerState: new Gauge({
      name: 'quorum_llm_circuit_state',
      help: 'Circuit breaker state per provider as last seen by this process: 0 closed, 1 half-open, 2 open.',
      labelNames: ['provider'] as const,
      registers: [metricsRegistry],
    }),
    fallbacks: new Counter({
      name: 'quorum_llm_fallbacks_total',
      help: 'Calls served by a fallback provider.',
      labelNames: ['from', 'to'] as const,
      registers: [metricsRegistry],
    }),
    budgetRejections: new Counter({
      name: 'quorum_llm_budget_rejections_total',
      help: 'Calls refused because the monthly budget could not cover their worst case.',
      registers: [metricsRegistry],
    }),
  };
}

export function llmMetrics(): ReturnType<typeof createLlmMetrics> {
  llm ??= createLlmMetrics();
  return llm;
}

function createMaintenanceMetrics() {
  return {
    removed: new Counter({
      name: 'quorum_maintenance_removed_total',
      help: 'Rows (or workspaces) removed by maintenance, per task.',
      labelNames: ['task'] as const,
      registers: [metricsRegistry],
    }),
    duration: new Histogram({
      name: 'quorum_maintenance_duration_seconds',
      help: 'Duration of maintenance jobs per task and outcome (ok, error).',
      labelNames: ['task', 'outcome'] as const,
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
      registers: [metricsRegistry],
    }),
  };
}

export function maintenanceMetrics(): ReturnType<typeof createMaintenanceMetrics> {
  maintenance ??= createMaintenanceMetrics();
  return maintenance;
}

export function collectProcessMetrics(): void {
  if (defaultsCollected) return;
  defaultsCollected = true;
  collectDefaultMetrics({ register: metricsRegistry, prefix: 'quorum_' });
}
