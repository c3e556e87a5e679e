import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createParser } from 'eventsource-parser';
import type { FakeLlm, FakeReply, FakeRequest } from './fake-llm/index.js';
import type { TestApp } from './test-app.js';

/**
 * Scripted agent answers, routed by the agent's finishing tool (so the model routing does not
 * matter). A coder or tester script is a whole tool-calling conversation: `{calls}` turns, then the
 * finishing `{tool}`; the fake answers in whatever wire format the agent's route uses.
 */
export type AgentReply =
  | {
      tool: Record<string, unknown>;
      text?: string;
      delayMs?: number;
      /** Tokens, and for OpenRouter the USD it reports having charged. */
      usage?: { input?: number; output?: number; cost?: number };
    }
  /** One turn of a tool-calling conversation: workspace tool calls (any names, any arguments). */
  | { calls: Array<{ name: string; arguments: Record<string, unknown> | string }>; text?: string; delayMs?: number }
  | { text: string }
  | { kind: 'error'; status: number; message?: string }
  | { kind: 'hang' };

export interface AgentScript {
  submit_plan?: AgentReply[];
  write_files?: AgentReply[];
  write_tests?: AgentReply[];
  submit_review?: AgentReply[];
}

/**
 * The finishing tool a request is for: the forced tool, else the first offered (the coder's and the
 * tester's loops offer their finishing tool first, then the workspace tools, with any tool required).
 */
export function agentOf(request: Pick<FakeRequest, 'forcedTool' | 'tools'>): string | undefined {
  return request.forcedTool ?? request.tools[0];
}

/** Installs a handler answering each agent from its own queue; an exhausted queue fails the test loudly. */
export function scriptAgents(
  fake: Pick<FakeLlm, 'script'>,
  script: AgentScript,
): { remaining: () => Record<string, number> } {
  const queues = Object.fromEntries(
    Object.entries(script).map(([tool, replies]) => [tool, [...(replies ?? [])]]),
  ) as Record<string, AgentReply[]>;
  fake.script((request) => {
    const tool = request.forcedTool ?? request.tools[0];
    const next = queues[tool]?.shift();
    if (!next)
      return { kind: 'error', status: 400, message: `no scripted answer left for ${tool}` } satisfies FakeReply;
    if ('tool' in next)
      return {
        text: next.text,
        toolCalls: [{ name: tool, arguments: next.tool }],
        delayMs: next.delayMs,
        usage: next.usage,
      } satisfies FakeReply;
    if ('calls' in next) return { text: next.text, toolCalls: next.calls, delayMs: next.delayMs } satisfies FakeReply;
    if ('text' in next) return { text: next.text } satisfies FakeReply;
    return next satisfies FakeReply;
  });
  return { remaining: () => Object.fromEntries(Object.entries(queues).map(([tool, queue]) => [tool, queue.length])) };
}

export async function until<T>(
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 15_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Polls GET /agents/runs/:id until the run reaches one of `statuses`. */
export async function waitForRun(
  t: TestApp,
  auth: Record<string, string>,
  runId: string,
  statuses: string[],
  timeoutMs = 60_000,
) {
  return until(async () => {
    const res = await t.http().get(`/api/v1/agents/runs/${runId}`).set(auth);
    return statuses.includes(res.body.status) ? (res.body as RunBody) : undefined;
  }, timeoutMs);
}

export async function runEvents(
  t: TestApp,
  auth: Record<string, string>,
  runId: string,
  after = 0,
): Promise<EventBody[]> {
  const res = await t.http().get(`/api/v1/agents/runs/${runId}/events?after=${after}`).set(auth).expect(200);
  return res.body.items as EventBody[];
}

export interface RunBody {
  id: string;
  taskId: string;
  status: string;
  iteration: number;
  error?: string;
  errorCode?: string;
  usage: { inputTokens: number; outputTokens: number; costUsd: string };
  /** While `awaiting_input`: what the run waits for. */
  awaiting?: { reason: 'plan' | 'budget'; scope?: string; scopeId?: string; limitUsd?: string; requiredUsd?: string };
  steps: Array<{
    id: string;
    agent: string;
    status: string;
    iteration: number;
    costUsd: string;
    inputTokens: number;
    outputTokens: number;
    provider: string | null;
    model: string | null;
    summary: string | null;
  }>;
}

export interface EventBody {
  seq: number;
  id: string;
  type: string;
  createdAt: string;
  data: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- event payloads are read freely by tests
}

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

/** Reads an SSE response until the server ends it (or `stopWhen` says so), with the raw comments seen. */
export function readSse(
  t: TestApp,
  path: string,
  headers: Record<string, string>,
  options: { stopWhen?: (event: SseEvent, all: SseEvent[]) => boolean; timeoutMs?: number } = {},
): Promise<{
  status: number;
  contentType: string | undefined;
  events: SseEvent[];
  comments: string[];
  ended: boolean;
}> {
  const server = t.app.getHttpServer();
  if (!server.listening) server.listen(0, '127.0.0.1');
  return new Promise((resolve, reject) => {
    const start = () => {
      const { port } = server.address() as AddressInfo;
      const events: SseEvent[] = [];
      const comments: string[] = [];
      const req = httpRequest(
        { host: '127.0.0.1', port, path, headers: { Accept: 'text/event-stream', ...headers } },
        (res) => {
          let done = false;
          const finish = (ended: boolean) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], events, comments, ended });
            req.destroy();
          };
          const parser = createParser({
            onEvent: (event) => {
              events.push({ id: event.id, event: event.event, data: event.data });
              if (options.stopWhen?.(events.at(-1)!, events)) finish(false);
            },
            onComment: (comment) => comments.push(comment),
          });
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => parser.feed(chunk));
          res.on('end', () => finish(true));
          res.on('error', () => finish(false));
          const timer = setTimeout(() => finish(false), options.timeoutMs ?? 15_000);
        },
      );
      req.on('error', reject);
      req.end();
    };
    if (server.listening) start();
    else server.once('listening', start);
  });
}
