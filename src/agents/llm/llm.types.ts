/**
 * The provider-neutral contract of the LLM gateway (issue 4). Agents build an `LlmCallRequest`;
 * the gateway routes it to a provider/model, meters it, enforces the budget and returns an
 * `LlmResult`. Every structured agent answer arrives as exactly one tool call (API.md).
 */
export const PROVIDERS = ['openai', 'anthropic', 'google', 'local', 'openrouter'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

/** `provider:model`, e.g. `openai:gpt-4o`, `local:qwen2.5-coder`. */
export type ModelRef = string;

export type AgentName = 'planner' | 'coder' | 'tester' | 'reviewer' | 'judge' | `judge.${string}`;

export interface ToolCall {
  id: string;
  name: string;
  arguments: Record<string, unknown>;
}

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: ToolCall[] }
  | { role: 'tool'; toolCallId: string; name: string; content: string };

export interface ToolDefinition {
  name: string;
  description: string;
  /** JSON Schema of the arguments object. */
  parameters: Record<string, unknown>;
}

export type ToolChoice = 'auto' | 'required' | 'none' | { name: string };

export interface LlmUsage {
  /** Every prompt token, cached or not. */
  inputTokens: number;
  outputTokens: number;
  /** Prompt tokens read from the provider's prompt cache (a subset of `inputTokens`). */
  cachedInputTokens: number;
  /** Prompt tokens written to the provider's prompt cache (a subset of `inputTokens`; Anthropic bills a premium). */
  cacheWriteTokens?: number;
}

export type FinishReason = 'stop' | 'tool_calls' | 'length' | 'content_filter' | 'other';

/** Who is paying and what for: written to the usage record of every attempt. */
export interface LlmCallContext {
  userId: string;
  agent: AgentName;
  taskId?: string;
  runId?: string;
  stepId?: string;
  /** The organization that owns the task: its limits apply and its usage reports count the call. */
  orgId?: string | null;
  /** The API key that started the run: its limit applies. */
  apiKeyId?: string | null;
  /** The task's `config.maxCostUsd`. */
  taskMaxCostUsd?: string | null;
}

export interface LlmCallRequest {
  context: LlmCallContext;
  /** Per-task override (`config.models[agent]`); otherwise AGENT_MODELS / DEFAULT_MODEL. */
  model?: ModelRef;
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  temperature?: number;
  /** Upper bound on output tokens; also the worst case the budget reserves. */
  maxTokens?: number;
  signal?: AbortSignal;
  /** Streams text deltas as they arrive (the gateway streams when this is set). */
  onDelta?: (text: string) => void;
  /**
   * Prompt caching (docs/llm.md): `conversation` marks the stable prefixes of a conversation that
   * continues (tool loops), `prefix` only the tools and system prompt, `off` nothing. Default:
   * `conversation` when the request has history or offers several tools, else `prefix`.
   */
  promptCache?: 'conversation' | 'prefix' | 'off';
  /** The task's latency objective (`config.latencySloMs`), weighed by the router. */
  latencySloMs?: number;
  /**
   * A write that commits with the successful attempt's usage row, in the same statement (so in one
   * transaction, one round trip): given the result the call returns, the data-modifying statement
   * to run with it. A tool loop stores its step's memo this way, so a model call is either paid and
   * remembered or neither.
   */
  recordWith?: (result: LlmResult) => WriteWithUsage;
}

/**
 * A data-modifying SQL statement (UPDATE / INSERT / DELETE) to run in the statement that stores a
 * usage row: `sql(param)` builds its text, `param(value)` binds a value and gives its placeholder.
 */
export interface WriteWithUsage {
  sql: (param: (value: unknown) => string) => string;
}

/** Why the router chose the model it did (recorded on the step). */
export interface RoutingDecision {
  candidates: string[];
  chosen: string;
  reason: string;
}

export interface LlmResult {
  text: string;
  toolCalls: ToolCall[];
  usage: LlmUsage;
  /** Exact decimal string in USD (money is never a float). */
  costUsd: string;
  finishReason: FinishReason;
  latencyMs: number;
  provider: ProviderName;
  model: string;
  /** The router's decision (the gateway always sets it; test doubles may not). */
  routing?: RoutingDecision;
}
