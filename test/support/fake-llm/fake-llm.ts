/**
 * A fake LLM server on 127.0.0.1 that speaks the three wire formats the gateway's SDKs use:
 * OpenAI chat completions (`POST {openaiBaseUrl}/chat/completions`), Anthropic messages
 * (`POST {anthropicBaseUrl}/v1/messages`) and Gemini generateContent
 * (`POST {googleBaseUrl}/v1beta/models/{model}:generateContent` / `:streamGenerateContent?alt=sse`),
 * and OpenRouter's OpenAI-compatible API (`POST {openrouterBaseUrl}/chat/completions`, which adds
 * the cost it charged to `usage` when asked),
 * each as JSON and as SSE, with tool calls and usage. Tests script it per model (a queue of
 * replies) or with a handler; unscripted requests get a default answer (text, or a call of the
 * forced/only tool with arguments built from its JSON schema).
 *
 * This file only uses erasable TypeScript and imports nothing but node built-ins, so plain Node
 * (type stripping) runs it too: `tools/fake-llm.mjs` serves it standalone for demos and benches.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomUUID } from 'node:crypto';

export type FakeWireFormat = 'openai' | 'anthropic' | 'google';

export interface FakeToolCall {
  name: string;
  /** An object, or raw text (to send malformed arguments). */
  arguments: Record<string, unknown> | string;
  id?: string;
}

export interface FakeUsage {
  input?: number;
  output?: number;
  /** Prompt tokens read from the cache. */
  cached?: number;
  /** Prompt tokens written to the cache (Anthropic reports them apart). */
  cacheWrite?: number;
  /**
   * OpenRouter only: the USD it charged, reported as `usage.cost` (a JSON number) when the request
   * asks for it (`usage: {include: true}`). Unscripted: (input × 3 + output × 15) / 10⁶.
   */
  cost?: number;
}

export type FakeReply =
  | {
      kind?: 'reply';
      text?: string;
      toolCalls?: FakeToolCall[];
      usage?: FakeUsage;
      finishReason?: 'stop' | 'length' | 'tool_calls';
      /** Wait before the response starts. */
      delayMs?: number;
      /** Wait between streamed chunks. */
      chunkDelayMs?: number;
      /** Streaming only: drop the connection after this many events (a stream cut mid-answer). */
      cutAfterChunks?: number;
      /** Streaming only: after this many events, send nothing more and keep the connection open (a stalled stream). */
      stallAfterChunks?: number;
    }
  | { kind: 'error'; status: number; message?: string; retryAfterSeconds?: number; delayMs?: number }
  /** Accept the request and never answer (the client's timeout or abort ends it). */
  | { kind: 'hang' }
  /** 200 with a body the SDK cannot parse (broken JSON, or a broken SSE event when streaming). */
  | { kind: 'malformed' }
  /** Close the connection without an answer. */
  | { kind: 'disconnect' };

export interface FakeRequest {
  format: FakeWireFormat;
  model: string;
  stream: boolean;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  /** Names of the tools offered. */
  tools: string[];
  /** The tool the request forces (or undefined when the model may choose). */
  forcedTool?: string;
  /** True when the request requires some tool call. */
  toolRequired: boolean;
  /** Concatenated text of the prompt (system + messages), for handlers that route on content. */
  prompt: string;
  /** The system instructions alone (OpenAI system/developer messages, Anthropic `system`, Gemini `systemInstruction`). */
  system: string;
  /**
   * The tool results the conversation carries, oldest first, whatever the wire format (OpenAI
   * `tool` messages, Anthropic `tool_result` blocks, Gemini `functionResponse` parts): what a
   * tool-calling model was told. `latest` marks the results after the last assistant turn.
   */
  toolResults: FakeToolResult[];
  receivedAt: number;
}

export interface FakeToolResult {
  id?: string;
  name?: string;
  content: string;
  /** True for the results that answer the model's last turn. */
  latest: boolean;
}

export type FakeHandler = (request: FakeRequest) => FakeReply | undefined | Promise<FakeReply | undefined>;

export interface FakeLlm {
  url: string;
  openaiBaseUrl: string;
  /** OpenRouter's API (OpenAI-compatible; reports `usage.cost`). */
  openrouterBaseUrl: string;
  anthropicBaseUrl: string;
  googleBaseUrl: string;
  /** `script(model | '*', ...replies)` queues replies for a model (`*`: any model); `script(handler)` answers what no queue does. */
  script(modelOrHandler: string | FakeHandler, ...replies: FakeReply[]): void;
  /** Every request received, in order. */
  requests: FakeRequest[];
  /** Replies still queued for a model. */
  pending(model?: string): number;
  reset(): void;
  close(): Promise<void>;
}

export interface FakeLlmOptions {
  port?: number;
  host?: string;
  /** When set, requests must carry this key (Bearer, x-api-key or x-goog-api-key) or get 401. */
  apiKey?: string;
  /** Answers unscripted requests (default: `defaultReply`). */
  handler?: FakeHandler;
  /**
   * Simulates each provider's prompt cache and reports it in usage as the provider does (unless a
   * reply scripts its usage): Anthropic caches the prefix up to each `cache_control` breakpoint
   * (a later request with the same prefix up to a breakpoint reads it; the rest up to its last
   * breakpoint is written); OpenAI and Gemini cache every prefix on their own and report the
   * longest one seen before (OpenAI in steps of 128 tokens). Prefixes shorter than `minTokens`
   * (default 1024, as the providers) are not cached. Tokens are estimated as characters ÷ 4.
   */
  promptCache?: boolean | { minTokens?: number };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** About four characters per token, at least one: good enough for a stand-in. */
const estimateTokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(textOf).join('\n');
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (typeof v.text === 'string') return v.text;
    if ('content' in v) return textOf(v.content);
    if ('parts' in v) return textOf(v.parts);
  }
  return '';
}

/** A minimal value that satisfies a JSON schema (for default tool calls). */
export function sampleFromSchema(schema: unknown, name = 'value'): unknown {
  const s = (schema ?? {}) as Record<string, unknown>;
  if (Array.isArray(s.enum) && s.enum.length) return s.enum[0];
  if ('const' in s) return s.const;
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'object': {
      const props = (s.properties ?? {}) as Record<string, unknown>;
      const required = new Set((s.required as string[] | undefined) ?? Object.keys(props));
      return Object.fromEntries(
        Object.entries(props)
          .filter(([key]) => required.has(key))
          .map(([key, sub]) => [key, sampleFromSchema(sub, key)]),
      );
    }
    case 'array':
      return [sampleFromSchema(s.items, name)];
    case 'integer':
    case 'number':
      return typeof s.minimum === 'number' ? s.minimum : 1;
    case 'boolean':
      return true;
    case 'string':
      return `${name} from the fake LLM`;
    default:
      return null;
  }
}

interface ParsedTool {
  name: string;
  schema: unknown;
}

/** The answer to an unscripted request: call the forced (or required-only) tool, else say something. */
export function defaultReply(request: FakeRequest, tools: ParsedTool[] = []): FakeReply {
  const tool = request.forcedTool
    ? tools.find((t) => t.name === request.forcedTool)
    : request.toolRequired || tools.length === 1
      ? tools[0]
      : undefined;
  if (tool)
    return { toolCalls: [{ name: tool.name, arguments: sampleFromSchema(tool.schema) as Record<string, unknown> }] };
  return { text: 'Hello from the fake LLM.' };
}

export async function startFakeLlm(options: FakeLlmOptions = {}): Promise<FakeLlm> {
  const queues = new Map<string, FakeReply[]>();
  let handler: FakeHandler | undefined = options.handler;
  const requests: FakeRequest[] = [];
  const cache = options.promptCache
    ? new PromptCacheSimulator(typeof options.promptCache === 'object' ? (options.promptCache.minTokens ?? 1024) : 1024)
    : undefined;

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `fake LLM failed: ${String(error)}` } }));
      } else res.destroy();
    });
  });
  // Keep-alive like real APIs; the bench and the SDKs reuse connections.
  server.keepAliveTimeout = 30_000;

  async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    return raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
  }

  function nextReply(model: string): FakeReply | undefined {
    for (const key of [model, '*']) {
      const queue = queues.get(key);
      if (queue?.length) return queue.shift();
    }
    return undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const parsed = parseRoute(req.method ?? 'GET', url);
    if (!parsed) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `no route ${req.method} ${url.pathname}` } }));
      return;
    }
    const body = await readBody(req);
    const { request, tools } = describe(parsed.format, parsed.model, parsed.stream, url.pathname, req.headers, body);
    requests.push(request);
    if (options.apiKey && presentedKey(req) !== options.apiKey) {
      return sendError(res, request, { kind: 'error', status: 401, message: 'invalid api key' });
    }
    const reply =
      nextReply(request.model) ?? (handler ? await handler(request) : undefined) ?? defaultReply(request, tools);
    if ((reply.kind === 'error' || reply.kind === undefined || reply.kind === 'reply') && reply.delayMs) {
      await sleep(reply.delayMs);
      if (res.destroyed || req.socket.destroyed) return; // the client gave up while we waited
    }
    switch (reply.kind) {
      case 'hang':
        return; // the client's timeout or abort closes the socket
      case 'disconnect':
        req.socket.destroy();
        return;
      case 'error':
        return sendError(res, request, reply);
      case 'malformed':
        return sendMalformed(res, request);
      default:
        return sendReply(res, request, reply, cache?.usage(request));
    }
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  const url = `http://${address.address}:${address.port}`;
  return {
    url,
    openaiBaseUrl: `${url}/openai/v1`,
    openrouterBaseUrl: `${url}/openrouter/api/v1`,
    anthropicBaseUrl: `${url}/anthropic`,
    googleBaseUrl: `${url}/google`,
    script(modelOrHandler: string | FakeHandler, ...replies: FakeReply[]) {
      if (typeof modelOrHandler === 'function') {
        handler = modelOrHandler;
        return;
      }
      const queue = queues.get(modelOrHandler) ?? [];
      queue.push(...replies);
      queues.set(modelOrHandler, queue);
    },
    requests,
    pending(model?: string) {
      if (model) return queues.get(model)?.length ?? 0;
      return [...queues.values()].reduce((n, q) => n + q.length, 0);
    },
    reset() {
      queues.clear();
      handler = options.handler;
      requests.length = 0;
      cache?.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function presentedKey(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7);
  const key = req.headers['x-api-key'] ?? req.headers['x-goog-api-key'];
  if (typeof key === 'string') return key;
  const url = new URL(req.url ?? '/', 'http://fake');
  return url.searchParams.get('key') ?? undefined;
}

function parseRoute(method: string, url: URL): { format: FakeWireFormat; model: string; stream: boolean } | undefined {
  if (method !== 'POST') return undefined;
  const path = url.pathname;
  if (/\/openai(\/v1)?\/chat\/completions$/.test(path)) return { format: 'openai', model: '', stream: false };
  if (/\/openrouter\/api\/v1\/chat\/completions$/.test(path)) return { format: 'openai', model: '', stream: false };
  if (/\/anthropic(\/v1)?\/messages$/.test(path)) return { format: 'anthropic', model: '', stream: false };
  const google = /\/google\/[^/]+\/models\/([^/:]+):(generateContent|streamGenerateContent)$/.exec(path);
  if (google)
    return { format: 'google', model: decodeURIComponent(google[1]), stream: google[2] === 'streamGenerateContent' };
  return undefined;
}

function describe(
  format: FakeWireFormat,
  pathModel: string,
  pathStream: boolean,
  path: string,
  headers: IncomingMessage['headers'],
  body: Record<string, unknown>,
): { request: FakeRequest; tools: ParsedTool[] } {
  let tools: ParsedTool[];
  let forcedTool: string | undefined;
  let toolRequired: boolean;
  let prompt: string;
  let system: string;
  let model = pathModel;
  let stream = pathStream;
  if (format === 'openai') {
    model = typeof body.model === 'string' ? body.model : '';
    stream = body.stream === true;
    tools = ((body.tools as { function: { name: string; parameters: unknown } }[] | undefined) ?? []).map((t) => ({
      name: t.function.name,
      schema: t.function.parameters,
    }));
    const choice = body.tool_choice as string | { function?: { name: string } } | undefined;
    if (typeof choice === 'object' && choice?.function) forcedTool = choice.function.name;
    toolRequired = choice === 'required' || forcedTool !== undefined;
    prompt = textOf(body.messages);
    system = textOf(
      ((body.messages as { role?: string }[] | undefined) ?? []).filter(
        (m) => m.role === 'system' || m.role === 'developer',
      ),
    );
  } else if (format === 'anthropic') {
    model = typeof body.model === 'string' ? body.model : '';
    stream = body.stream === true;
    tools = ((body.tools as { name: string; input_schema: unknown }[] | undefined) ?? []).map((t) => ({
      name: t.name,
      schema: t.input_schema,
    }));
    const choice = body.tool_choice as { type: string; name?: string } | undefined;
    if (choice?.type === 'tool') forcedTool = choice.name;
    toolRequired = choice?.type === 'any' || forcedTool !== undefined;
    prompt = [textOf(body.system), textOf(body.messages)].filter(Boolean).join('\n');
    system = textOf(body.system);
  } else {
    const declarations = (
      (body.tools as
        | { functionDeclarations?: { name: string; parameters?: unknown; parametersJsonSchema?: unknown }[] }[]
        | undefined) ?? []
    ).flatMap((t) => t.functionDeclarations ?? []);
    tools = declarations.map((d) => ({ name: d.name, schema: d.parametersJsonSchema ?? d.parameters }));
    const config = (
      body.toolConfig as { functionCallingConfig?: { mode?: string; allowedFunctionNames?: string[] } } | undefined
    )?.functionCallingConfig;
    toolRequired = config?.mode === 'ANY';
    if (toolRequired && config?.allowedFunctionNames?.length === 1) forcedTool = config.allowedFunctionNames[0];
    prompt = [textOf(body.systemInstruction), textOf(body.contents)].filter(Boolean).join('\n');
    system = textOf(body.systemInstruction);
  }
  return {
    request: {
      format,
      model,
      stream,
      path,
      headers,
      body,
      tools: tools.map((t) => t.name),
      forcedTool,
      toolRequired,
      prompt,
      system,
      toolResults: toolResultsOf(format, body),
      receivedAt: Date.now(),
    },
    tools,
  };
}

/** The tool results in a request body, with the names of the calls they answer. */
function toolResultsOf(format: FakeWireFormat, body: Record<string, unknown>): FakeToolResult[] {
  type Loose = Record<string, unknown>;
  const list = (value: unknown): Loose[] => (Array.isArray(value) ? (value as Loose[]) : []);
  const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  const results: Array<Omit<FakeToolResult, 'latest'> & { turn: number }> = [];
  const names = new Map<string, string | undefined>();
  let turn = 0;
  if (format === 'openai') {
    for (const message of list(body.messages)) {
      if (message.role === 'assistant') {
        turn++;
        for (const call of list(message.tool_calls))
          names.set(String(call.id), str((call.function as Loose | undefined)?.name));
      } else if (message.role === 'tool') {
        const id = str(message.tool_call_id) ?? '';
        results.push({ id, name: names.get(id), content: textOf(message.content), turn });
      }
    }
  } else if (format === 'anthropic') {
    for (const message of list(body.messages)) {
      const blocks = list(message.content);
      if (message.role === 'assistant') {
        turn++;
        for (const block of blocks) if (block.type === 'tool_use') names.set(String(block.id), str(block.name));
      } else {
        for (const block of blocks) {
          if (block.type !== 'tool_result') continue;
          const id = str(block.tool_use_id) ?? '';
          results.push({ id, name: names.get(id), content: textOf(block.content), turn });
        }
      }
    }
  } else {
    for (const content of list(body.contents)) {
      if (content.role === 'model') turn++;
      for (const part of list(content.parts)) {
        const response = part.functionResponse as Loose | undefined;
        if (!response) continue;
        const payload = response.response as Loose | undefined;
        const output = payload?.output ?? payload;
        results.push({
          id: str(response.id),
          name: str(response.name),
          content: typeof output === 'string' ? output : JSON.stringify(output),
          turn,
        });
      }
    }
  }
  return results.map(({ turn: at, ...result }) => ({ ...result, latest: at === turn && turn > 0 }));
}

interface ResolvedReply {
  text: string;
  toolCalls: { id: string; name: string; args: string }[];
  usage: { input: number; output: number; cached: number; written: number; cost?: number };
  finish: 'stop' | 'length' | 'tool_calls';
  chunkDelayMs: number;
  cutAfterChunks?: number;
  stallAfterChunks?: number;
}

function resolve(
  request: FakeRequest,
  reply: Extract<FakeReply, { kind?: 'reply' }>,
  cached?: CacheUsage,
): ResolvedReply {
  const text = reply.text ?? '';
  const toolCalls = (reply.toolCalls ?? []).map((call, index) => ({
    id: call.id ?? `call_${randomUUID().replace(/-/g, '').slice(0, 20)}_${index}`,
    name: call.name,
    args: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
  }));
  const output = estimateTokens(text + toolCalls.map((c) => c.name + c.args).join(''));
  return {
    text,
    toolCalls,
    usage:
      reply.usage?.input === undefined && cached
        ? { ...cached, output: reply.usage?.output ?? output }
        : {
            input: reply.usage?.input ?? estimateTokens(request.prompt),
            output: reply.usage?.output ?? output,
            cached: reply.usage?.cached ?? 0,
            written: reply.usage?.cacheWrite ?? 0,
            cost: reply.usage?.cost,
          },
    finish: reply.finishReason ?? (toolCalls.length ? 'tool_calls' : 'stop'),
    chunkDelayMs: reply.chunkDelayMs ?? 0,
    cutAfterChunks: reply.cutAfterChunks,
    stallAfterChunks: reply.stallAfterChunks,
  };
}

interface CacheUsage {
  input: number;
  cached: number;
  written: number;
}

/** A prompt as the provider caches it: pieces in order, and which of them end a breakpoint. */
interface PromptSegment {
  text: string;
  breakpoint: boolean;
}

/** Five minutes, as Anthropic's default cache and about as long as OpenAI's. */
const CACHE_TTL_MS = 5 * 60_000;

/** The providers' prompt caches, as seen from their usage reports (see `FakeLlmOptions.promptCache`). */
class PromptCacheSimulator {
  private readonly entries = new Map<string, number>();
  // A plain field, not a parameter property: plain Node (type stripping) runs this file standalone.
  private readonly minTokens: number;

  constructor(minTokens: number) {
    this.minTokens = minTokens;
  }

  clear(): void {
    this.entries.clear();
  }

  usage(request: FakeRequest): CacheUsage {
    const segments = segmentsOf(request);
    const now = Date.now();
    // Hash and token count of every prefix that ends a segment.
    let hash = createHash('sha256').update(`${request.format}\0${request.model}`).digest('hex');
    let chars = 0;
    const prefixes = segments.map((segment) => {
      hash = createHash('sha256').update(hash).update(segment.text).digest('hex');
      chars += segment.text.length;
      return { hash, tokens: Math.ceil(chars / 4), breakpoint: segment.breakpoint };
    });
    const input = Math.max(1, Math.ceil(chars / 4));
    const live = (key: string) => (this.entries.get(key) ?? 0) > now;
    const cacheable = request.format === 'anthropic' ? prefixes.filter((p) => p.breakpoint) : prefixes;
    const hit = cacheable.findLast((p) => p.tokens >= this.minTokens && live(p.hash));
    let cached = hit?.tokens ?? 0;
    if (hit && request.format === 'openai') cached = Math.floor(cached / 128) * 128;
    let written = 0;
    for (const p of cacheable) {
      if (p.tokens < this.minTokens) continue;
      this.entries.set(p.hash, now + CACHE_TTL_MS); // a hit refreshes the entry, as the providers do
    }
    if (request.format === 'anthropic') {
      const last = cacheable.at(-1);
      if (last && last.tokens >= this.minTokens && last.tokens > (hit?.tokens ?? 0)) written = last.tokens - cached;
    }
    return { input, cached, written };
  }
}

/** Tools, system prompt and messages in the order each provider caches them. */
function segmentsOf(request: FakeRequest): PromptSegment[] {
  type Loose = Record<string, unknown>;
  const body = request.body;
  const list = (value: unknown): Loose[] => (Array.isArray(value) ? (value as Loose[]) : []);
  const marked = (value: Loose) => value.cache_control !== undefined;
  const plain = (value: Loose) => {
    const { cache_control: _ignored, ...rest } = value;
    return JSON.stringify(rest);
  };
  if (request.format === 'anthropic') {
    const segments: PromptSegment[] = list(body.tools).map((t) => ({ text: plain(t), breakpoint: marked(t) }));
    const system = body.system;
    if (typeof system === 'string') segments.push({ text: system, breakpoint: false });
    else for (const block of list(system)) segments.push({ text: plain(block), breakpoint: marked(block) });
    for (const message of list(body.messages)) {
      segments.push({ text: String(message.role), breakpoint: false });
      const content = message.content;
      if (typeof content === 'string') segments.push({ text: content, breakpoint: false });
      else for (const block of list(content)) segments.push({ text: plain(block), breakpoint: marked(block) });
    }
    return segments;
  }
  const tools = JSON.stringify(body.tools ?? []);
  const messages =
    request.format === 'openai'
      ? list(body.messages)
      : [...(body.systemInstruction ? [body.systemInstruction as Loose] : []), ...list(body.contents)];
  return [{ text: tools, breakpoint: false }, ...messages.map((m) => ({ text: JSON.stringify(m), breakpoint: false }))];
}

/** Splits text in about three pieces so streaming clients must reassemble it. */
function pieces(text: string, count = 3): string[] {
  if (!text) return [];
  const size = Math.max(1, Math.ceil(text.length / count));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function sseHeaders(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
}

/** Writes SSE events, or after `cutAfterChunks` of them destroys the connection and writes nothing more. */
function sseWriter(res: ServerResponse, r: ResolvedReply): (event: string) => Promise<void> {
  let sent = 0;
  return async (event: string) => {
    if (res.destroyed) return;
    if (r.chunkDelayMs) await sleep(r.chunkDelayMs);
    if (r.cutAfterChunks !== undefined && sent >= r.cutAfterChunks) {
      await sleep(20); // let what was sent reach the client before the reset
      res.socket?.destroy();
      res.destroy();
      return;
    }
    if (r.stallAfterChunks !== undefined && sent >= r.stallAfterChunks) {
      if (!res.destroyed) await new Promise((done) => res.once('close', done)); // until the client gives up
      return;
    }
    sent++;
    res.write(event);
  };
}

async function sendReply(
  res: ServerResponse,
  request: FakeRequest,
  reply: Extract<FakeReply, { kind?: 'reply' }>,
  cached?: CacheUsage,
): Promise<void> {
  const r = resolve(request, reply, cached);
  if (request.format === 'openai') return request.stream ? openaiStream(res, request, r) : openaiJson(res, request, r);
  if (request.format === 'anthropic')
    return request.stream ? anthropicStream(res, request, r) : anthropicJson(res, request, r);
  return request.stream ? googleStream(res, request, r) : googleJson(res, request, r);
}

const openaiUsage = (r: ResolvedReply, request: FakeRequest) => ({
  prompt_tokens: r.usage.input,
  completion_tokens: r.usage.output,
  total_tokens: r.usage.input + r.usage.output,
  prompt_tokens_details: { cached_tokens: r.usage.cached },
  // OpenRouter adds what it charged (USD credits) when the request asks for it.
  ...(request.path.includes('/openrouter/') && (request.body.usage as { include?: boolean } | undefined)?.include
    ? { cost: r.usage.cost ?? (r.usage.input * 3 + r.usage.output * 15) / 1e6, is_byok: false }
    : {}),
});

function openaiJson(res: ServerResponse, request: FakeRequest, r: ResolvedReply): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      id: `chatcmpl-${randomUUID()}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: request.model,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: r.text || null,
            refusal: null,
            ...(r.toolCalls.length
              ? {
                  tool_calls: r.toolCalls.map((c) => ({
                    id: c.id,
                    type: 'function',
                    function: { name: c.name, arguments: c.args },
                  })),
                }
              : {}),
          },
          finish_reason: r.finish,
          logprobs: null,
        },
      ],
      usage: openaiUsage(r, request),
    }),
  );
}

async function openaiStream(res: ServerResponse, request: FakeRequest, r: ResolvedReply): Promise<void> {
  sseHeaders(res);
  const id = `chatcmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const write = sseWriter(res, r);
  const send = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    write(
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: request.model, choices, ...extra })}\n\n`,
    );
  await send([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]);
  for (const piece of pieces(r.text)) await send([{ index: 0, delta: { content: piece }, finish_reason: null }]);
  for (const [index, call] of r.toolCalls.entries()) {
    await send([
      {
        index: 0,
        delta: { tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] },
        finish_reason: null,
      },
    ]);
    for (const piece of pieces(call.args)) {
      await send([
        { index: 0, delta: { tool_calls: [{ index, function: { arguments: piece } }] }, finish_reason: null },
      ]);
    }
  }
  await send([{ index: 0, delta: {}, finish_reason: r.finish }]);
  const streamOptions = request.body.stream_options as { include_usage?: boolean } | undefined;
  if (streamOptions?.include_usage) await send([], { usage: openaiUsage(r, request) });
  await write('data: [DONE]\n\n');
  if (!res.destroyed) res.end();
}

const anthropicStop = (r: ResolvedReply) =>
  r.finish === 'tool_calls' ? 'tool_use' : r.finish === 'length' ? 'max_tokens' : 'end_turn';

function anthropicJson(res: ServerResponse, request: FakeRequest, r: ResolvedReply): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      id: `msg_${randomUUID().replace(/-/g, '')}`,
      type: 'message',
      role: 'assistant',
      model: request.model,
      content: [
        ...(r.text ? [{ type: 'text', text: r.text }] : []),
        ...r.toolCalls.map((c) => ({ type: 'tool_use', id: c.id, name: c.name, input: safeJson(c.args) })),
      ],
      stop_reason: anthropicStop(r),
      stop_sequence: null,
      // Anthropic's input_tokens exclude cache reads, which are reported apart.
      usage: {
        input_tokens: r.usage.input - r.usage.cached - r.usage.written,
        output_tokens: r.usage.output,
        cache_read_input_tokens: r.usage.cached,
        cache_creation_input_tokens: r.usage.written,
      },
    }),
  );
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text; // the malformed case: the SDK passes it through, the adapter must notice
  }
}

async function anthropicStream(res: ServerResponse, request: FakeRequest, r: ResolvedReply): Promise<void> {
  sseHeaders(res);
  const write = sseWriter(res, r);
  const send = (event: string, data: Record<string, unknown>) =>
    write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
  await send('message_start', {
    message: {
      id: `msg_${randomUUID().replace(/-/g, '')}`,
      type: 'message',
      role: 'assistant',
      model: request.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: r.usage.input - r.usage.cached - r.usage.written,
        output_tokens: 1,
        cache_read_input_tokens: r.usage.cached,
        cache_creation_input_tokens: r.usage.written,
      },
    },
  });
  let index = 0;
  if (r.text) {
    await send('content_block_start', { index, content_block: { type: 'text', text: '' } });
    for (const piece of pieces(r.text))
      await send('content_block_delta', { index, delta: { type: 'text_delta', text: piece } });
    await send('content_block_stop', { index });
    index++;
  }
  for (const call of r.toolCalls) {
    await send('content_block_start', {
      index,
      content_block: { type: 'tool_use', id: call.id, name: call.name, input: {} },
    });
    for (const piece of pieces(call.args))
      await send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: piece } });
    await send('content_block_stop', { index });
    index++;
  }
  await send('message_delta', {
    delta: { stop_reason: anthropicStop(r), stop_sequence: null },
    usage: { output_tokens: r.usage.output },
  });
  await send('message_stop', {});
  if (!res.destroyed) res.end();
}

const googleFinish = (r: ResolvedReply) => (r.finish === 'length' ? 'MAX_TOKENS' : 'STOP');
const googleUsage = (r: ResolvedReply) => ({
  promptTokenCount: r.usage.input,
  candidatesTokenCount: r.usage.output,
  totalTokenCount: r.usage.input + r.usage.output,
  ...(r.usage.cached ? { cachedContentTokenCount: r.usage.cached } : {}),
});
const googleCall = (c: ResolvedReply['toolCalls'][number]) => ({
  functionCall: { id: c.id, name: c.name, args: safeJson(c.args) },
});

function googleJson(res: ServerResponse, request: FakeRequest, r: ResolvedReply): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      candidates: [
        {
          content: { role: 'model', parts: [...(r.text ? [{ text: r.text }] : []), ...r.toolCalls.map(googleCall)] },
          finishReason: googleFinish(r),
          index: 0,
        },
      ],
      usageMetadata: googleUsage(r),
      modelVersion: request.model,
      responseId: randomUUID(),
    }),
  );
}

async function googleStream(res: ServerResponse, request: FakeRequest, r: ResolvedReply): Promise<void> {
  sseHeaders(res);
  const write = sseWriter(res, r);
  const send = (payload: Record<string, unknown>) =>
    write(`data: ${JSON.stringify({ ...payload, modelVersion: request.model })}\r\n\r\n`);
  const textPieces = pieces(r.text);
  // Gemini streams text in pieces and each function call whole; usage comes with the last chunk.
  for (const piece of textPieces) {
    await send({ candidates: [{ content: { role: 'model', parts: [{ text: piece }] }, index: 0 }] });
  }
  await send({
    candidates: [
      { content: { role: 'model', parts: r.toolCalls.map(googleCall) }, finishReason: googleFinish(r), index: 0 },
    ],
    usageMetadata: googleUsage(r),
  });
  if (!res.destroyed) res.end();
}

function sendError(res: ServerResponse, request: FakeRequest, reply: Extract<FakeReply, { kind: 'error' }>): void {
  const status = reply.status;
  const message = reply.message ?? `fake error ${status}`;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (reply.retryAfterSeconds !== undefined) headers['retry-after'] = String(reply.retryAfterSeconds);
  let body: unknown;
  if (request.format === 'openai') {
    const type = status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error';
    body = { error: { message, type, code: null, param: null } };
  } else if (request.format === 'anthropic') {
    const type =
      status === 429
        ? 'rate_limit_error'
        : status === 401
          ? 'authentication_error'
          : status === 529
            ? 'overloaded_error'
            : status >= 500
              ? 'api_error'
              : 'invalid_request_error';
    body = { type: 'error', error: { type, message } };
  } else {
    const grpc =
      status === 429
        ? 'RESOURCE_EXHAUSTED'
        : status === 401
          ? 'UNAUTHENTICATED'
          : status >= 500
            ? 'INTERNAL'
            : 'INVALID_ARGUMENT';
    body = {
      error: {
        code: status,
        message,
        status: grpc,
        ...(reply.retryAfterSeconds !== undefined
          ? {
              details: [
                { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${reply.retryAfterSeconds}s` },
              ],
            }
          : {}),
      },
    };
  }
  res.writeHead(status, headers);
  res.end(JSON.stringify(body));
}

function sendMalformed(res: ServerResponse, request: FakeRequest): void {
  if (!request.stream) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"id": "broken", "choices": [ {"message": ');
    return;
  }
  sseHeaders(res);
  res.write(request.format === 'anthropic' ? 'event: message_start\ndata: {not json\n\n' : 'data: {not json\n\n');
  res.end();
}
