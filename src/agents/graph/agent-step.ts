import type { z } from 'zod';
import type { AgentName, ChatMessage, LlmUsage, RoutingDecision } from '#src/agents/llm/llm.types.js';
import { TOOLS, ToolName } from './agent-tools.js';
import { AgentStepError, endedStepStatus, isInterruption, pausesForBudget } from './graph.errors.js';
import { addMoney } from '#src/metrics/money.js';
import { correctiveMessage } from './prompts.js';
import { budgetScopeOf } from './run-context.js';
import type { GraphDeps, RunContext } from './run-context.js';

export interface AgentStepSpec<T> {
  agent: AgentName;
  /** Unique per unit of work in the run (e.g. `coder:2`); a completed step with this key is reused, not re-run. */
  stepKey: string;
  iteration: number;
  tool: ToolName;
  schema: z.ZodType<T>;
  messages: ChatMessage[];
  /** Further checks of the parsed answer (e.g. file paths); a message here earns the corrective retry. */
  check?: (answer: T) => string | null;
  summarise: (answer: T) => string;
}

/**
 * One agent invocation as a run step: step row + `agent.started`, the model call with its tool,
 * one corrective retry when the answer lacks a valid tool call, then `agent.completed` with usage.
 */
export async function runAgentStep<T>(deps: GraphDeps, ctx: RunContext, spec: AgentStepSpec<T>): Promise<T> {
  const done = ctx.recovering ? await deps.progress.completedStep(ctx.run.id, spec.stepKey) : null;
  if (done) return spec.schema.parse(done.output);

  const step = await deps.progress.startStep(ctx.run, {
    agent: spec.agent,
    iteration: spec.iteration,
    stepKey: spec.stepKey,
  });
  const usage: LlmUsage = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 };
  let costUsd = '0';
  let provider: string | null = null;
  let model: string | null = null;
  let routing: RoutingDecision | null = null;
  const messages = [...spec.messages];
  const timeout = AbortSignal.timeout(deps.stepTimeoutMs);
  const signal = AbortSignal.any([ctx.signal, timeout]);
  const modelOverride = ctx.models[spec.agent];
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      const result = await deps.llm.call({
        context: {
          userId: ctx.run.userId,
          agent: spec.agent,
          taskId: ctx.run.taskId,
          runId: ctx.run.id,
          stepId: step.id,
          ...budgetScopeOf(ctx.run),
        },
        model: modelOverride,
        latencySloMs: ctx.latencySloMs,
        messages,
        tools: [TOOLS[spec.tool]],
        toolChoice: { name: spec.tool },
        signal,
        onDelta: deps.streamDeltas
          ? (text) =>
              // Deltas are best-effort previews (never stored); a lost one must not fail the step.
              deps.events.publishDelta(ctx.run, {
                agent: spec.agent,
                iteration: spec.iteration,
                stepId: step.id,
                text,
              })
          : undefined,
      });
      usage.inputTokens += result.usage.inputTokens;
      usage.outputTokens += result.usage.outputTokens;
      usage.cachedInputTokens += result.usage.cachedInputTokens;
      costUsd = addMoney(costUsd, result.costUsd);
      provider = result.provider;
      model = result.model;
      routing = result.routing ?? null;
      const problem = readAnswer(spec, result.toolCalls);
      if ('answer' in problem) {
        await deps.progress.finishStep(ctx.run, step, {
          status: 'completed',
          usage,
          costUsd,
          provider,
          model,
          routing,
          summary: spec.summarise(problem.answer),
          output: problem.answer,
        });
        return problem.answer;
      }
      if (attempt === 0) {
        messages.push({ role: 'assistant', content: result.text || '(no tool call)' });
        messages.push({ role: 'user', content: correctiveMessage(spec.tool, problem.error) });
        continue;
      }
      throw new AgentStepError(
        'AGENT_NO_TOOL_CALL',
        `The ${spec.agent} did not call ${spec.tool} after a corrective retry (${problem.error}).`,
      );
    }
    throw new AgentStepError('AGENT_NO_TOOL_CALL', `The ${spec.agent} did not call ${spec.tool}.`);
  } catch (error) {
    if (isInterruption(ctx.signal, error)) throw error;
    const failure =
      timeout.aborted && !ctx.signal.aborted
        ? new AgentStepError(
            'AGENT_TIMEOUT',
            `The ${spec.agent} did not answer within ${Math.round(deps.stepTimeoutMs / 1000)} s.`,
          )
        : error;
    // A step refused by a budget that pauses the run is done again, as a new step, after the resume.
    const paused = pausesForBudget(ctx.run, failure);
    await deps.progress.finishStep(ctx.run, step, {
      status: paused ? 'interrupted' : endedStepStatus(ctx.signal),
      usage,
      costUsd,
      provider,
      model,
      routing,
      summary: paused ? `${spec.agent} paused: budget` : `${spec.agent} failed`,
      error: (failure as Error).message,
    });
    throw failure;
  }
}

function readAnswer<T>(
  spec: AgentStepSpec<T>,
  toolCalls: Array<{ name: string; arguments: Record<string, unknown> }>,
): { answer: T } | { error: string } {
  const call = toolCalls.find((candidate) => candidate.name === spec.tool);
  if (!call)
    return {
      error: toolCalls.length > 0 ? `called ${toolCalls.map((c) => c.name).join(', ')} instead` : 'no tool call',
    };
  const parsed = spec.schema.safeParse(call.arguments);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { error: `invalid arguments: ${issue.path.join('.') || 'arguments'} ${issue.message}` };
  }
  const problem = spec.check?.(parsed.data);
  return problem ? { error: problem } : { answer: parsed.data };
}
