import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request } from 'express';
import { platformMetrics } from './prometheus.js';

const STARTED = Symbol('quorum.http.started');
type TimedRequest = Request & { [STARTED]?: number };

/** Node publishes here when a response has been handed to the socket in full. */
const RESPONSE_FINISH = 'http.server.response.finish';
let subscribed = false;

function onResponseFinish(message: unknown): void {
  const { request, response } = message as { request: IncomingMessage; response: ServerResponse };
  const req = request as TimedRequest;
  const started = req[STARTED];
  if (started === undefined) return; // another server in this process (tests' stand-ins)
  const path = (req.route as { path?: unknown } | undefined)?.path;
  // Nest's not-found fallback under the API prefix is the catch-all route `*path`: no template.
  const route =
    typeof path === 'string' && path !== '' && !path.startsWith('*') ? `${req.baseUrl ?? ''}${path}` : 'unmatched';
  const metrics = platformMetrics();
  metrics.httpRequests.inc({ method: req.method, route, status: String(response.statusCode) });
  metrics.httpDuration.observe({ method: req.method, route }, (performance.now() - started) / 1000);
}

/**
 * Starts the request's clock. Every HTTP request (including ones guards reject and unmatched
 * paths) is counted by route template, never by raw path, so ids in URLs cannot explode the label
 * cardinality. The series are recorded from Node's `http.server.response.finish` diagnostics
 * channel, one process-wide subscriber, instead of a `finish` listener added to every response.
 * Called first thing for every request (`configureHttpApp`), so the clock covers every layer.
 */
export function startRequestClock(req: Request): void {
  (req as TimedRequest)[STARTED] = performance.now();
  if (!subscribed) {
    subscribed = true;
    subscribe(RESPONSE_FINISH, onResponseFinish);
  }
}
