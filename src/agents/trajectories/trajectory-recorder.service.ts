import { BeforeApplicationShutdown, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { LlmCallHooks, type CompletedLlmAttempt } from '#src/agents/llm/llm-call-hooks.js';
import type { ChatMessage } from '#src/agents/llm/llm.types.js';
import type { AllConfig } from '#src/config/namespaces.js';
import type { ObservabilityConfig } from '#src/config/observability.config.js';
import type { TrajectoryKind } from './entities/trajectory-entry.entity.js';
import { SecretRedactor } from './secret-redactor.js';
import { boundedJson, clipText, encodeBody } from './trajectory-codec.js';

/** A tool call of a coder or tester step, as the tool loop ran it. */
export interface ToolCallRecord {
  runId: string;
  stepId: string;
  agent: string;
  iteration: number;
  tool: string;
  arguments: Record<string, unknown>;
  ok: boolean;
  target: string;
  content: string;
  durationMs: number;
  startedAt: number;
}

interface PendingEntry {
  runId: string;
  stepId: string | null;
  agent: string;
  iteration: number | null;
  kind: TrajectoryKind;
  durationMs: number;
  at: Date;
  body: { request: unknown; response: unknown; usage?: unknown };
}

interface EncodedEntry extends Omit<PendingEntry, 'body'> {
  body: Buffer;
  rawBytes: number;
  storedBytes: number;
}

const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';

/**
 * Keeps the trajectory of every run this process works on: each model call (from the gateway's
 * completion hook) and each tool call (from the tool loop), in order. Recording costs the run a
 * push onto an in-memory list; redaction, bounding, compression and the INSERT happen a moment
 * later, batched, off the run's path. The worker flushes a run before it reports the run's end
 * (`flushRun`) and flushes everything before it shuts down, so a normally ending run or process
 * loses nothing. A write that fails is logged and dropped: a trajectory never fails a run.
 *
 * A model call stores only the messages that were not already sent by the previous model call of
 * its step (`contextMessages` counts the ones it repeats), so a long tool loop costs its new
 * messages per round rather than its whole conversation every time.
 */
@Injectable()
export class TrajectoryRecorder implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(TrajectoryRecorder.name);
  private readonly settings: ObservabilityConfig['trajectories'];
  private readonly redactor: SecretRedactor;
  private pending: PendingEntry[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  /** The messages the latest model call of each step sent (by step, or run and agent without one). */
  private readonly sent = new Map<string, ChatMessage[]>();
  /** Stored compressed bytes per run, as far as this process knows them. */
  private readonly runBytes = new Map<string, number>();

  constructor(
    config: ConfigService<AllConfig, true>,
    private readonly hooks: LlmCallHooks,
    private readonly dataSource: DataSource,
  ) {
    this.settings = config.get('observability', { infer: true }).trajectories;
    const llm = config.get('llm', { infer: true });
    const auth = config.get('auth', { infer: true });
    const secrets = config.get('secrets', { infer: true });
    this.redactor = new SecretRedactor([
      ...Object.values(llm.providers).map((provider) => provider.apiKey),
      secrets.jwtSecret,
      secrets.encryptionKey.toString('base64'),
      secrets.encryptionKey.toString('hex'),
      ...Object.values(auth.oauth).map((provider) => provider?.clientSecret),
    ]);
  }

  onModuleInit(): void {
    if (this.settings.enabled) this.hooks.onAttemptCompleted((attempt) => this.modelCall(attempt));
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.flush();
  }

  get enabled(): boolean {
    return this.settings.enabled;
  }

  modelCall(attempt: CompletedLlmAttempt): void {
    const context = attempt.request.context;
    if (!context.runId) return;
    const key = `${context.runId}:${context.stepId ?? context.agent}`;
    const messages = attempt.request.messages;
    const previous = this.sent.get(key) ?? [];
    let repeated = 0;
    while (repeated < previous.length && repeated < messages.length && same(previous[repeated], messages[repeated]))
      repeated++;
    // A copy: callers append to their message list after the call.
    this.sent.set(key, messages.slice());
    const { request, result, error } = attempt;
    this.push({
      runId: context.runId,
      stepId: context.stepId ?? null,
      agent: context.agent,
      iteration: null,
      kind: 'model_call',
      durationMs: attempt.latencyMs,
      at: new Date(attempt.startedAt),
      body: {
        request: {
          provider: attempt.provider,
          model: attempt.model,
          attempt: attempt.attempt,
          params: {
            temperature: request.temperature ?? null,
            maxTokens: attempt.maxTokens,
            toolChoice: request.toolChoice ?? null,
          },
          tools: (request.tools ?? []).map((tool) => tool.name),
          contextMessages: repeated,
          messages: messages.slice(repeated),
        },
        response: result
          ? { text: result.text, toolCalls: result.toolCalls, finishReason: result.finishReason }
          : { error },
        usage: { ...attempt.usage, costUsd: attempt.costUsd },
      },
    });
  }

  toolCall(call: ToolCallRecord): void {
    this.push({
      runId: call.runId,
      stepId: call.stepId,
      agent: call.agent,
      iteration: call.iteration,
      kind: 'tool_call',
      durationMs: call.durationMs,
      at: new Date(call.startedAt),
      body: {
        request: { tool: call.tool, arguments: call.arguments },
        response: {
          ok: call.ok,
          target: call.target,
          chars: call.content.length,
          content: clipText(call.content, this.settings.toolResultChars),
        },
      },
    });
  }

  /** Writes what is pending (this run's entries included) and forgets the run's per-step state. */
  async flushRun(runId: string): Promise<void> {
    await this.flush();
    for (const key of this.sent.keys()) if (key.startsWith(`${runId}:`)) this.sent.delete(key);
    this.runBytes.delete(runId);
  }

  /** Writes everything pending; resolves once it is stored (or its failure logged). */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.pending;
    this.pending = [];
    this.flushing = this.flushing.then(() => (batch.length ? this.write(batch) : undefined));
    return this.flushing;
  }

  private push(entry: PendingEntry): void {
    if (!this.settings.enabled) return;
    this.pending.push(entry);
    this.timer ??= setTimeout(() => void this.flush().catch(() => undefined), this.settings.flushMs);
  }

  private async write(batch: PendingEntry[]): Promise<void> {
    try {
      const byRun = new Map<string, PendingEntry[]>();
      for (const entry of batch) {
        const list = byRun.get(entry.runId) ?? [];
        list.push(entry);
        byRun.set(entry.runId, list);
      }
      for (const [runId, entries] of byRun) await this.writeRun(runId, entries);
    } catch (error) {
      this.logger.warn({ err: error, entries: batch.length }, 'trajectory entries could not be written');
    }
  }

  private async writeRun(runId: string, entries: PendingEntry[]): Promise<void> {
    let used = this.runBytes.get(runId);
    if (used === undefined) {
      const rows = await this.dataSource.query<{ bytes: string }[]>(
        'SELECT coalesce(sum(stored_bytes), 0) AS bytes FROM trajectory_entries WHERE run_id = $1',
        [runId],
      );
      used = Number(rows[0].bytes);
    }
    const encoded: EncodedEntry[] = [];
    for (const entry of entries) {
      const over = used >= this.settings.maxRunBytes;
      const body = over
        ? { omitted: `the run's trajectory reached TRAJECTORY_MAX_RUN_BYTES (${this.settings.maxRunBytes})` }
        : this.redactor.redact(entry.body);
      const json = boundedJson(body, this.settings.maxEntryBytes);
      const stored = await encodeBody(json);
      used += stored.length;
      encoded.push({
        ...entry,
        body: stored,
        rawBytes: Buffer.byteLength(json),
        storedBytes: stored.length,
      });
    }
    this.runBytes.set(runId, used);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.insert(runId, encoded);
        return;
      } catch (error) {
        const code = (error as { code?: string }).code;
        // The run was deleted meanwhile: its trajectory goes with it.
        if (code === FOREIGN_KEY_VIOLATION) return;
        // Another process wrote entries of this run at the same moment (a redelivered job): take the next seqs.
        if (code === UNIQUE_VIOLATION && attempt < 3) continue;
        throw error;
      }
    }
  }

  private async insert(runId: string, entries: EncodedEntry[]): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO trajectory_entries
         (run_id, seq, step_id, agent, iteration, kind, duration_ms, at, body, raw_bytes, stored_bytes)
       SELECT $1, base.seq + x.ord, x.step_id, x.agent, x.iteration, x.kind, x.duration_ms, x.at, x.body,
              x.raw_bytes, x.stored_bytes
         FROM unnest($2::uuid[], $3::varchar[], $4::int[], $5::varchar[], $6::int[], $7::timestamptz[],
                     $8::bytea[], $9::int[], $10::int[])
              WITH ORDINALITY AS x(step_id, agent, iteration, kind, duration_ms, at, body, raw_bytes, stored_bytes, ord)
        CROSS JOIN (SELECT coalesce(max(seq), 0) AS seq FROM trajectory_entries WHERE run_id = $1) AS base`,
      [
        runId,
        entries.map((e) => e.stepId),
        entries.map((e) => e.agent),
        entries.map((e) => e.iteration),
        entries.map((e) => e.kind),
        entries.map((e) => Math.max(0, Math.round(e.durationMs))),
        entries.map((e) => e.at.toISOString()),
        entries.map((e) => e.body),
        entries.map((e) => e.rawBytes),
        entries.map((e) => e.storedBytes),
      ],
    );
  }
}

function same(a: ChatMessage, b: ChatMessage): boolean {
  if (a === b) return true;
  if (a.role !== b.role || a.content !== b.content) return false;
  if (a.role === 'assistant' && b.role === 'assistant')
    return JSON.stringify(a.toolCalls ?? []) === JSON.stringify(b.toolCalls ?? []);
  if (a.role === 'tool' && b.role === 'tool') return a.toolCallId === b.toolCallId;
  return true;
}
