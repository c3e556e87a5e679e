/**
 * Every BullMQ queue and job of Quorum, and the payload of each job. Payloads are JSON-safe
 * (they cross Redis), keyed by job name so a producer and its processor cannot disagree.
 */
export enum QueueName {
  AgentRuns = 'agent-runs',
  WebhookDeliveries = 'webhook-deliveries',
  Maintenance = 'maintenance',
}

export enum JobName {
  AgentRun = 'agent-run',
  WebhookDelivery = 'webhook-delivery',
  WebhookSweep = 'webhook-sweep',
  /** Maintenance (retention), one job scheduler each: see src/maintenance/. */
  IdempotencyKeysRetention = 'idempotency-keys-retention',
  EmailTokensRetention = 'email-tokens-retention',
  SessionsRetention = 'sessions-retention',
  WebhookDeliveriesRetention = 'webhook-deliveries-retention',
  TrajectoriesRetention = 'trajectories-retention',
  BudgetReservationsRetention = 'budget-reservations-retention',
  SpendTotalsRetention = 'spend-totals-retention',
}

export interface JobPayloads {
  /** `trace`: the W3C trace context of the request that enqueued it (set only while tracing is on). */
  [JobName.AgentRun]: { runId: string; trace?: Record<string, string> };
  /** One attempt (1-based) of one delivery; jobId `<deliveryId>.<attempt>` makes a repeated enqueue a no-op. */
  [JobName.WebhookDelivery]: { deliveryId: string; attempt: number };
  /** Periodic: enqueues due outbox rows whose job was never added (e.g. the process died after commit). */
  [JobName.WebhookSweep]: Record<string, never>;
  [JobName.IdempotencyKeysRetention]: Record<string, never>;
  [JobName.EmailTokensRetention]: Record<string, never>;
  [JobName.SessionsRetention]: Record<string, never>;
  [JobName.WebhookDeliveriesRetention]: Record<string, never>;
  [JobName.TrajectoriesRetention]: Record<string, never>;
  [JobName.BudgetReservationsRetention]: Record<string, never>;
  [JobName.SpendTotalsRetention]: Record<string, never>;
}

export type JobOf<N extends JobName> = JobPayloads[N];

/** Defaults for every job: explicit attempts, exponential backoff, retention by age and count. */
export const DEFAULT_JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: { age: 24 * 3600, count: 1_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 5_000 },
} as const;
