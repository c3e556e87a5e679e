/**
 * The event envelope shared by SSE and webhooks (API.md "Events"). `id` is a UUID that stays the
 * same wherever the event travels (it is the webhook-id of its deliveries).
 */
export const EVENT_TYPES = [
  'task.created',
  'run.queued',
  'run.started',
  'agent.started',
  'agent.delta',
  'agent.completed',
  'tests.completed',
  'council.completed',
  'run.awaiting_input',
  'run.completed',
  'run.failed',
  'run.cancelled',
  'pull_request.opened',
  'setup.completed',
  'agent.tool_call',
  'budget.threshold_reached',
  'run.waiting_for_worker',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** `agent.delta` streams model text to SSE readers only; webhooks never carry it. */
export const WEBHOOK_EVENT_TYPES = EVENT_TYPES.filter((type) => type !== 'agent.delta');

/**
 * Types a `*` subscription does not receive: only subscriptions that name them do (a busy tool
 * loop would otherwise flood every subscriber).
 */
export const NAMED_ONLY_EVENT_TYPES: readonly EventType[] = ['agent.tool_call'];

export const TERMINAL_EVENT_TYPES: ReadonlySet<EventType> = new Set(['run.completed', 'run.failed', 'run.cancelled']);

export interface EventEnvelope<D extends Record<string, unknown> = Record<string, unknown>> {
  id: string;
  type: EventType | 'webhook.test';
  createdAt: string;
  data: D;
}
