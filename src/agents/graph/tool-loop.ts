import { createHash } from 'node:crypto';
import { access } from 'node:fs/promises';
import type { z } from 'zod';
import type { ChatMessage, LlmResult, LlmUsage, ToolCall } from '#src/agents/llm/llm.types.js';
import { WORKSPACE_TOOL_NAMES, WORKSPACE_TOOLS } from '#src/agents/tools/workspace-tool.schemas.js';
import { WorkspaceToolbox } from '#src/agents/tools/workspace-toolbox.js';
import { inSpan } from '#src/telemetry/spans.js';
import type { TaskFile } from '#src/tasks/entities/task.entity.js';
import { TOOLS } from './agent-tools.js';
import { AgentStepError, endedStepStatus, isInterruption, pausesForBudget } from './graph.errors.js';
import { addMoney } from '#src/metrics/money.js';
import { correctiveMessage } from './prompts.js';
import { budgetScopeOf } from './run-context.js';
import type { GraphDeps, RunContext } from './run-context.js';

export type LoopAgent = 'coder' | 'tester';
type FinishTool = 'write_files' | 'write_tests';

/**
 * One coder or tester step as a tool loop, kept in the run's checkpointed state (its `loop`
 * channel). The `agent_model` node runs the loop's rounds (a model call, then the answers to the
 * tool calls it asked for) until the finishing call; the node's end is a checkpoint. Between, each
 * model call stores its answer and the loop as it was before the call on the step's row (the memo,
 * see loopModelCall): a worker that dies mid-loop is resumed from it (recoverToolLoop), so no
 * finished model call is paid twice, without a LangGraph superstep and checkpoint per round.
 */
export interface ToolLoopState {
  agent: LoopAgent;
  iteration: number;
  stepKey: string;
  step: { id: string; agent: string; iteration: number; provider: string | null; model: string | null };
  finishTool: FinishTool;
  messages: ChatMessage[];
  /** Leading messages (instructions, task, plan) that context shortening never touches. */
  fixed: number;
  /** Model calls made in this step (the round a memo on the step row refers to). */
  round: number;
  /** Workspace tool calls made (bounded by maxToolCalls). */
  calls: number;
  usage: LlmUsage;
  costUsd: string;
  corrections: number;
  /** The finishing call's problem, answered to the model by the tool node. */
  finishError: string | null;
  /** Signatures (calls and their results) of the last rounds, for the STUCK rules. */
  recent?: string[];
  /** What stood for `recent` in checkpoints of earlier versions: the last round and its repeats. */
  repeat?: { signature: string; count: number } | null;
  stuckWarned: boolean;
  /** The finishing tool's parsed arguments once the model called it validly. */
  answer: unknown;
  /** A task without a repository works in a step workspace made on the first tool call. */
  workspaceDir: string | null;
  /**
   * The files this step's write_file and edit_file calls left changed (delete_file takes a path out),
   * in the order first written: a repository task's tester reports them as its test files.
   * Absent in checkpoints of earlier versions.
   */
  written?: string[];
}

export interface ToolLoopSpec<T> {
  agent: LoopAgent;
  stepKey: string;
  iteration: number;
  finishTool: FinishTool;
  schema: z.ZodType<T>;
  messages: ChatMessage[];
  check?: (answer: T) => string | null;
  summarise: (answer: T) => string;
}

const ZERO_USAGE: LlmUsage = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 };
const SHORTENED_MIN_CHARS = 400;
const WARN_REMAINING = 3;
const STUCK_REPEATS = 3;
/** The rounds the STUCK rules look back over: three repeats, or two rounds taking turns three times. */
const RECENT_ROUNDS = 6;
const INTERRUPTED_CALL =
  'Error: the worker running this call stopped before it finished, so its effect is unknown. Check the workspace (read_file, list_files) before repeating it.';

/** Starts the step (or finds it completed by a dead worker: its answer is reused). */
export async function startToolLoop<T>(
  deps: GraphDeps,
  ctx: RunContext,
  spec: ToolLoopSpec<T>,
): Promise<ToolLoopState> {
  const done = ctx.recovering ? await deps.progress.completedStep(ctx.run.id, spec.stepKey) : null;
  const step =
    done ??
    (await deps.progress.startStep(ctx.run, { agent: spec.agent, iteration: spec.iteration, stepKey: spec.stepKey }));
  return {
    agent: spec.agent,
    iteration: spec.iteration,
    stepKey: spec.stepKey,
    step: { id: step.id, agent: step.agent, iteration: step.iteration, provider: step.provider, model: step.model },
    finishTool: spec.finishTool,
    messages: spec.messages,
    fixed: spec.messages.length,
    round: 0,
    calls: 0,
    usage: { ...ZERO_USAGE },
    costUsd: '0',
    corrections: 0,
    finishError: null,
    recent: [],
    stuckWarned: false,
    answer: done ? spec.schema.parse(done.output) : null,
    workspaceDir: null,
  };
}

/** A model answer as the step's memo keeps it (what a replayed round needs). */
export type LoopAnswer = Pick<LlmResult, 'text' | 'toolCalls' | 'usage' | 'costUsd' | 'provider' | 'model'>;

/**
 * The memo on a running loop step's row, written with every model call before any of its tools
 * runs: the call's number, the loop as it was before the call and the answer. (Memos of earlier
 * versions have no `state`: the loop then came from the round's checkpoint.)
 */
interface LoopMemo {
  loopRound?: number;
  state?: ToolLoopState;
  answer?: LoopAnswer | null;
}

/**
 * One round of the loop: the model call (or the replay of a model answer a dead worker paid for),
 * then, when it asked for tools, their answers. The model's answer is on the step row before any
 * tool runs (see loopModelCall), so a worker that dies during the tools is recovered from that
 * memo: the next worker replays the answer without paying for it again and answers its calls as
 * interrupted.
 */
export async function loopRound<T>(
  deps: GraphDeps,
  ctx: RunContext,
  current: ToolLoopState,
  spec: Pick<ToolLoopSpec<T>, 'schema' | 'check' | 'summarise'>,
  seedFiles: () => TaskFile[],
  replay: LoopAnswer | null = null,
): Promise<ToolLoopState> {
  const loop = await loopModelCall(deps, ctx, current, spec, replay);
  return wantsTools(loop) ? loopToolCalls(deps, ctx, loop, seedFiles) : loop;
}

/**
 * Where a redelivered job (a dead worker's, or a run resumed after a budget pause) takes a loop up:
 * the newest step row of the loop's step key tells. Completed: its answer is reused. Interrupted:
 * that step keeps what it cost (added to the run now) and the loop goes on in a new step, from the
 * memo when it is newer than the checkpoint, replaying the memo's answer (the model is not paid
 * again; its tool calls are answered as interrupted, see loopToolCalls).
 */
export async function recoverToolLoop<T>(
  deps: GraphDeps,
  ctx: RunContext,
  checkpointed: ToolLoopState,
  spec: Pick<ToolLoopSpec<T>, 'schema'>,
): Promise<{ loop: ToolLoopState; replay: LoopAnswer | null }> {
  const row = await deps.progress.latestStep(ctx.run.id, checkpointed.stepKey);
  if (!row || row.status === 'running') return { loop: checkpointed, replay: null };
  const asStep = { id: row.id, agent: row.agent, iteration: row.iteration, provider: row.provider, model: row.model };
  if (row.status === 'completed')
    return { loop: { ...checkpointed, step: asStep, answer: spec.schema.parse(row.output) }, replay: null };
  const memo = row.output as LoopMemo | null;
  let loop = checkpointed;
  let replay: LoopAnswer | null = null;
  if (memo?.state && memo.state.round >= checkpointed.round) {
    loop = memo.state;
    replay = memo.answer ?? null;
  } else if (memo?.answer && memo.loopRound === checkpointed.round + 1) replay = memo.answer;
  loop = { ...loop, messages: [...loop.messages], step: loop.step.id === row.id ? loop.step : asStep };
  if (row.status === 'interrupted') {
    await deps.progress.finishStep(ctx.run, row, {
      status: 'interrupted',
      usage: { inputTokens: row.inputTokens, cachedInputTokens: row.cachedInputTokens, outputTokens: row.outputTokens },
      costUsd: row.costUsd,
      summary: `${loop.agent} interrupted after ${replay ? loop.round + 1 : loop.round} model call(s); continued in a new step`,
      error: row.error ?? undefined,
      output: row.output,
    });
    const step = await deps.progress.startStep(ctx.run, {
      agent: loop.agent,
      iteration: loop.iteration,
      stepKey: loop.stepKey,
    });
    loop.step = { id: step.id, agent: step.agent, iteration: step.iteration, provider: row.provider, model: row.model };
    loop.usage = { ...ZERO_USAGE };
    loop.costUsd = '0';
    // The new step carries the loop from the start: a worker dying before its first model call
    // leaves this memo, not an empty row, to the next one.
    await deps.progress.recordStepProgress(step.id, {
      usage: loop.usage,
      costUsd: loop.costUsd,
      provider: row.provider,
      model: row.model,
      output: { loopRound: loop.round + 1, state: loop, answer: replay } satisfies LoopMemo,
    });
  }
  return { loop, replay };
}

/** Whether the loop's last model answer asked for tools that are still to be answered. */
export function wantsTools(loop: ToolLoopState): boolean {
  if (loop.answer !== null) return false;
  const last = loop.messages.at(-1);
  return last?.role === 'assistant' && (last.toolCalls?.length ?? 0) > 0;
}

/** The model node: one model call with the workspace tools and the finishing tool. */
export async function loopModelCall<T>(
  deps: GraphDeps,
  ctx: RunContext,
  current: ToolLoopState,
  spec: Pick<ToolLoopSpec<T>, 'schema' | 'check' | 'summarise'>,
  replay: LoopAnswer | null = null,
): Promise<ToolLoopState> {
  const loop: ToolLoopState = { ...current, messages: [...current.messages], usage: { ...current.usage } };
  let result: LoopAnswer | null = replay;
  // A replayed answer is one a dead worker got: its tool calls may have been running when it died
  // (nothing of the round is stored after its tools), so the tool calls that follow are answered as
  // interrupted instead of being run a second time.
  const replayed = result !== null;
  if (replayed) loop.round += 1;
  const timeout = AbortSignal.timeout(deps.stepTimeoutMs);
  try {
    if (!result) {
      const forced = loop.calls >= ctx.maxToolCalls;
      const called = await deps.llm.call({
        context: {
          userId: ctx.run.userId,
          agent: loop.agent,
          taskId: ctx.run.taskId,
          runId: ctx.run.id,
          stepId: loop.step.id,
          ...budgetScopeOf(ctx.run),
        },
        model: ctx.models[loop.agent],
        latencySloMs: ctx.latencySloMs,
        messages: loop.messages,
        // The finishing tool comes first: a single-shot model (and a test double) answers with it.
        tools: forced
          ? [TOOLS[loop.finishTool]]
          : [TOOLS[loop.finishTool], ...WORKSPACE_TOOL_NAMES.map((n) => WORKSPACE_TOOLS[n])],
        toolChoice: forced ? { name: loop.finishTool } : 'required',
        signal: AbortSignal.any([ctx.signal, timeout]),
        // The step's memo goes with the call's usage row, in its statement: the answer and the loop
        // before it are on the row before any tool runs, and a call is never paid without it.
        recordWith: (answer) =>
          deps.progress.stepProgressWrite(loop.step.id, {
            usage: addUsage(loop.usage, answer.usage),
            costUsd: addMoney(loop.costUsd, answer.costUsd),
            provider: answer.provider,
            model: answer.model,
            routing: answer.routing,
            output: {
              loopRound: loop.round + 1,
              state: current,
              answer: {
                text: answer.text,
                toolCalls: answer.toolCalls,
                usage: answer.usage,
                costUsd: answer.costUsd,
                provider: answer.provider,
                model: answer.model,
              },
            } satisfies LoopMemo,
          }),
        onDelta: deps.streamDeltas
          ? (text) =>
              // Deltas are best-effort previews (never stored); a lost one must not fail the step.
              deps.events.publishDelta(ctx.run, {
                agent: loop.agent,
                iteration: loop.iteration,
                stepId: loop.step.id,
                text,
              })
          : undefined,
      });
      result = called;
      loop.round += 1;
      loop.usage = addUsage(loop.usage, called.usage);
      loop.costUsd = addMoney(loop.costUsd, called.costUsd);
      loop.step = { ...loop.step, provider: called.provider, model: called.model };
    }
    loop.finishError = null;
    const toolCalls = result.toolCalls;
    if (toolCalls.length === 0) {
      loop.corrections += 1;
      if (loop.corrections >= 2)
        throw new AgentStepError(
          'AGENT_NO_TOOL_CALL',
          `The ${loop.agent} did not call ${loop.finishTool} after a corrective retry (no tool call).`,
        );
      loop.messages.push({ role: 'assistant', content: result.text || '(no tool call)' });
      loop.messages.push({ role: 'user', content: correctiveMessage(loop.finishTool, 'no tool call') });
      return loop;
    }
    loop.messages.push({ role: 'assistant', content: result.text, toolCalls });
    const finish = toolCalls.find((call) => call.name === loop.finishTool);
    if (finish) {
      const parsed = spec.schema.safeParse(finish.arguments);
      const problem = parsed.success
        ? (spec.check?.(parsed.data) ?? null)
        : `invalid arguments: ${parsed.error.issues[0].path.join('.') || 'arguments'} ${parsed.error.issues[0].message}`;
      if (parsed.success && !problem) {
        loop.answer = parsed.data;
        await deps.progress.finishStep(ctx.run, stepOf(loop), {
          status: 'completed',
          usage: loop.usage,
          costUsd: loop.costUsd,
          provider: loop.step.provider,
          model: loop.step.model,
          summary: spec.summarise(parsed.data),
          output: parsed.data,
          data: { toolCalls: loop.calls },
        });
        return loop;
      }
      loop.corrections += 1;
      if (loop.corrections >= 2)
        throw new AgentStepError(
          'AGENT_NO_TOOL_CALL',
          `The ${loop.agent} did not call ${loop.finishTool} validly after a corrective retry (${problem}).`,
        );
      loop.finishError = `Error: your ${loop.finishTool} call was refused (${problem}); nothing was written. Call ${loop.finishTool} again with valid arguments.`;
    }
    return loop;
  } catch (error) {
    const failure =
      timeout.aborted && !ctx.signal.aborted
        ? new AgentStepError(
            'AGENT_TIMEOUT',
            `The ${loop.agent} did not answer within ${Math.round(deps.stepTimeoutMs / 1000)} s.`,
          )
        : error;
    // Paused by a budget: the step stays open (the pause closes it as interrupted) and the resumed
    // run continues the loop from its checkpoint in a new step, as after a worker's crash.
    if (pausesForBudget(ctx.run, failure)) throw failure;
    await failStep(deps, ctx, loop, (failure as Error).message);
    throw failure;
  } finally {
    if (!replayed) ctx.loopActive = true;
  }
}

/**
 * The second half of a round: answers every call of the model's last message (workspace tools run,
 * one `agent.tool_call` event each), then checks the call budget, repetition and the context size.
 */
export async function loopToolCalls(
  deps: GraphDeps,
  ctx: RunContext,
  current: ToolLoopState,
  seedFiles: () => TaskFile[],
): Promise<ToolLoopState> {
  const loop: ToolLoopState = { ...current, messages: [...current.messages] };
  const last = loop.messages.at(-1);
  const calls: ToolCall[] = last?.role === 'assistant' ? (last.toolCalls ?? []) : [];
  // A redelivered job whose first model answer was replayed (no model call made in this job) means
  // a dead worker was running these calls: their effect is unknown, so the model is told rather
  // than the calls repeated blindly.
  const interrupted = ctx.recovering && !ctx.loopActive;
  ctx.loopActive = true;
  try {
    // The previous round's events, written while the model answered: one that failed fails the step here.
    await deps.progress.flushEvents(ctx.run.id);
    // A cancel that came during the model call stops the round before its first tool.
    ctx.signal.throwIfAborted();
    const dir = interrupted ? null : await workspaceFor(deps, ctx, loop, seedFiles);
    const toolbox = dir
      ? new WorkspaceToolbox(dir, deps.tools.workspaces, deps.tools.commands, ctx.signal, ctx.environment?.mounts)
      : null;
    const results: Array<{ call: ToolCall; ok: boolean; content: string }> = [];
    for (const call of calls) {
      const started = performance.now();
      const startedAt = Date.now();
      let ok: boolean;
      let content: string;
      let target = call.name;
      if (call.name === loop.finishTool) {
        ok = false;
        content =
          loop.finishError ?? `Error: call ${loop.finishTool} alone, after your other tool calls were answered.`;
      } else if (interrupted || !toolbox) {
        ok = false;
        content = INTERRUPTED_CALL;
      } else if (loop.calls >= ctx.maxToolCalls) {
        ok = false;
        content = `Error: the limit of ${ctx.maxToolCalls} tool calls for this step is reached; this call was not run. Finish now with ${loop.finishTool}.`;
      } else {
        loop.calls += 1;
        const outcome = await inSpan(
          `execute_tool ${call.name.slice(0, 100)}`,
          {
            'gen_ai.operation.name': 'execute_tool',
            'gen_ai.tool.name': call.name.slice(0, 100),
            'quorum.agent': loop.agent,
          },
          async (span) => {
            const done = await toolbox.execute(call.name, call.arguments);
            span.setAttribute('quorum.tool.ok', done.ok);
            return done;
          },
        );
        ctx.signal.throwIfAborted();
        ({ ok, content, target } = outcome);
        if (outcome.changed) loop.written = changedPaths(loop.written ?? [], outcome.changed);
      }
      const durationMs = Math.round(performance.now() - started);
      deps.progress.emitSoon(ctx.run, 'agent.tool_call', {
        agent: loop.agent,
        iteration: loop.iteration,
        stepId: loop.step.id,
        tool: call.name.slice(0, 100),
        target,
        ok,
        durationMs,
      });
      deps.trajectory.toolCall({
        runId: ctx.run.id,
        stepId: loop.step.id,
        agent: loop.agent,
        iteration: loop.iteration,
        tool: call.name,
        arguments: call.arguments,
        ok,
        target,
        content,
        durationMs,
        startedAt,
      });
      results.push({ call, ok, content });
    }
    const notes = noteFor(ctx, loop, results);
    results.forEach(({ call, content }, index) => {
      const note = index === results.length - 1 && notes ? `\n\n${notes}` : '';
      loop.messages.push({ role: 'tool', toolCallId: call.id, name: call.name, content: content + note });
    });
    loop.messages = shortenHistory(loop.messages, loop.fixed, ctx.loopContextTokens);
    return loop;
  } catch (error) {
    await failStep(deps, ctx, loop, (error as Error).message);
    throw error;
  }
}

/** The step's changed files after one more change: a write keeps its first place, a delete drops it. */
function changedPaths(written: string[], changed: { path: string; deleted: boolean }): string[] {
  if (changed.deleted) return written.filter((path) => path !== changed.path);
  return written.includes(changed.path) ? written : [...written, changed.path];
}

/** Repetition (the STUCK rule of tool loops) and the call budget, said once at the end of the round. */
function noteFor(ctx: RunContext, loop: ToolLoopState, results: Array<{ call: ToolCall; content: string }>): string {
  const notes: string[] = [];
  const calls = results.filter((r) => r.call.name !== loop.finishTool);
  if (calls.length > 0) {
    const signature = createHash('sha256')
      .update(JSON.stringify(calls.map((r) => [r.call.name, r.call.arguments, r.content])))
      .digest('hex');
    const earlier =
      loop.recent ??
      (loop.repeat ? Array<string>(Math.min(loop.repeat.count, RECENT_ROUNDS)).fill(loop.repeat.signature) : []);
    loop.recent = [...earlier, signature].slice(-RECENT_ROUNDS);
    delete loop.repeat;
    const stuck = repetition(loop.recent);
    if (stuck) {
      if (loop.stuckWarned)
        throw new AgentStepError('STUCK', `The ${loop.agent} ${stuck.stopped} after being told; the loop was stopped.`);
      loop.stuckWarned = true;
      notes.push(
        `Note: ${stuck.told}. Do something different, or finish with ${loop.finishTool}; repeating it again stops this step.`,
      );
    }
  }
  const remaining = ctx.maxToolCalls - loop.calls;
  if (remaining <= 0) notes.push(`Note: no tool calls are left for this step. Finish now with ${loop.finishTool}.`);
  else if (remaining <= WARN_REMAINING)
    notes.push(`Note: ${remaining} tool call(s) left before you must finish with ${loop.finishTool}.`);
  return notes.join('\n');
}

/**
 * The STUCK rules of tool loops, over the signatures of the last rounds (each round's calls with
 * their results): the same round `STUCK_REPEATS` times in a row, or two rounds taking turns three
 * times each (A-B-A-B-A-B, as OpenHands detects), nothing changing in between. Null when neither.
 */
export function repetition(recent: readonly string[]): { told: string; stopped: string } | null {
  const last = recent.length - 1;
  let same = 1;
  while (same <= last && recent[last - same] === recent[last]) same++;
  if (same >= STUCK_REPEATS)
    return {
      told: `you made the same call with the same result ${same} times in a row`,
      stopped: `repeated the same tool call with the same result ${same} times in a row`,
    };
  if (recent.length >= RECENT_ROUNDS) {
    const window = recent.slice(-RECENT_ROUNDS);
    const [a, b] = window;
    if (a !== b && window.every((signature, i) => signature === (i % 2 === 0 ? a : b)))
      return {
        told: 'you alternated between the same two calls, with the same results, 3 times each',
        stopped: 'alternated between the same two tool calls with the same results',
      };
  }
  return null;
}

/**
 * Keeps the conversation within the context budget: the oldest tool results (and the long
 * arguments of old calls, e.g. whole files written) are shortened first, the latest round never,
 * and the leading instructions, task and plan never at all.
 */
export function shortenHistory(messages: ChatMessage[], fixed: number, budgetTokens: number): ChatMessage[] {
  let size = messages.reduce((n, m) => n + sizeOf(m), 0);
  const budget = budgetTokens * 4;
  if (size <= budget) return messages;
  const out = [...messages];
  let lastAssistant = out.length - 1;
  while (lastAssistant > 0 && out[lastAssistant].role !== 'assistant') lastAssistant--;
  for (let i = fixed; i < lastAssistant && size > budget; i++) {
    const message = out[i];
    if (message.role === 'tool' && message.content.length > SHORTENED_MIN_CHARS) {
      const shortened = `${message.content.slice(0, 200)}\n[… older tool result shortened to save context (${message.content.length} characters); call the tool again if you need it]`;
      size -= message.content.length - shortened.length;
      out[i] = { ...message, content: shortened };
    } else if (message.role === 'assistant' && message.toolCalls?.length) {
      const before = sizeOf(message);
      const toolCalls = message.toolCalls.map((call) => ({
        ...call,
        arguments: Object.fromEntries(
          Object.entries(call.arguments).map(([key, value]) =>
            typeof value === 'string' && value.length > SHORTENED_MIN_CHARS
              ? [key, `${value.slice(0, 120)}[… ${value.length} characters, shortened to save context]`]
              : [key, value],
          ),
        ),
      }));
      out[i] = { ...message, toolCalls };
      size -= before - sizeOf(out[i]);
    }
  }
  return out;
}

function sizeOf(message: ChatMessage): number {
  const calls = message.role === 'assistant' && message.toolCalls ? JSON.stringify(message.toolCalls).length : 0;
  return message.content.length + calls;
}

function addUsage(a: LlmUsage, b: LlmUsage): LlmUsage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
  };
}

const stepOf = (loop: ToolLoopState) => loop.step as unknown as Parameters<GraphDeps['progress']['finishStep']>[1];

async function failStep(deps: GraphDeps, ctx: RunContext, loop: ToolLoopState, error: string): Promise<void> {
  // A hand-over leaves the step open for the next worker (see isInterruption).
  if (isInterruption(ctx.signal)) return;
  await deps.progress.finishStep(ctx.run, stepOf(loop), {
    status: endedStepStatus(ctx.signal),
    usage: loop.usage,
    costUsd: loop.costUsd,
    provider: loop.step.provider,
    model: loop.step.model,
    summary: `${loop.agent} failed`,
    error,
    data: { toolCalls: loop.calls },
  });
}

/** The directory the tools work on: the run's checkout, or a step workspace seeded with the run's files. */
async function workspaceFor(
  deps: GraphDeps,
  ctx: RunContext,
  loop: ToolLoopState,
  seedFiles: () => TaskFile[],
): Promise<string> {
  if (ctx.repository) return ctx.repository.dir;
  const dir = deps.tools.workspaces.pathFor(`${ctx.run.id}-${loop.agent}-${loop.iteration}`);
  // Looked for once per job: a workspace this job made or found stays (a continued loop on another
  // worker may not find it there, and makes it again).
  if (loop.workspaceDir === dir && ctx.workspaces?.has(dir)) return dir;
  const exists = await access(dir).then(
    () => true,
    () => false,
  );
  if (!loop.workspaceDir || !exists) {
    await deps.tools.workspaces.create(`${ctx.run.id}-${loop.agent}-${loop.iteration}`);
    await deps.tools.workspaces.writeFiles(dir, seedFiles());
    loop.workspaceDir = dir;
  }
  (ctx.workspaces ??= new Set()).add(dir);
  return dir;
}
