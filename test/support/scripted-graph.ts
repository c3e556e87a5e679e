import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@nestjs/common';
import type { ConfigService } from '@nestjs/config';
import type { GraphDeps, RunContext } from '../../src/agents/graph/run-context.js';
import { TestRunner, type TestRunOutput } from '../../src/agents/graph/test-runner.port.js';
import type { LlmCallRequest, LlmResult, ToolCall } from '../../src/agents/llm/llm.types.js';
import type { Run } from '../../src/agents/runs/entities/run.entity.js';
import type { RunEventsService } from '../../src/agents/runs/run-events.service.js';
import type { RunProgressService } from '../../src/agents/runs/run-progress.service.js';
import { WorkspaceService } from '../../src/agents/workspace/workspace.service.js';
import type { AllConfig } from '../../src/config/namespaces.js';

/**
 * The run graph on its own (no database, no HTTP): a scripted tool-calling model, passing tests,
 * real step workspaces in a temporary directory, and the progress double a spec brings. For specs
 * that stop a run part-way (a crash, a hand-over) and resume it on another "worker".
 */

/** A build task with one file, as the graph reads it from its run (`input` overrides parts of it). */
export function scriptedRun(id: string, input: Partial<Run['input']> = {}): Run {
  return {
    id,
    taskId: 'task',
    userId: 'user',
    iteration: 0,
    input: {
      title: 't',
      description: 'd',
      language: 'javascript',
      mode: 'build',
      repositoryId: null,
      files: [{ path: 'a.mjs', content: 'export const answer = 42;\n' }],
      config: {},
      ...input,
    },
  } as unknown as Run;
}

/** A model's answer with these tool calls: one token in, one out, USD 0.001, from openai:gpt-4o. */
export function toolCallResult(toolCalls: ToolCall[]): LlmResult {
  return {
    text: '',
    toolCalls,
    usage: { inputTokens: 1, outputTokens: 1, cachedInputTokens: 0 },
    costUsd: '0.001',
    finishReason: 'tool_calls',
    latencyMs: 1,
    provider: 'openai',
    model: 'gpt-4o',
  };
}

/** Step workspaces under a temporary data directory (`dispose` removes it). */
export async function temporaryWorkspaces(): Promise<{ workspaces: WorkspaceService; dispose: () => void }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'quorum-graph-'));
  const config = {
    get: (ns: string) =>
      ns === 'app'
        ? { dataDir }
        : { workspace: { maxFiles: 100, maxFileBytes: 1_000_000, maxTotalBytes: 5_000_000, keepHours: 24 } },
  } as unknown as ConfigService<AllConfig, true>;
  const workspaces = new WorkspaceService(config);
  await workspaces.onModuleInit();
  workspaces.onModuleDestroy();
  return { workspaces, dispose: () => rmSync(dataDir, { recursive: true, force: true }) };
}

/**
 * A model that plans nothing, answers the coder with `coderRounds` in turn (tool calls, or the
 * finishing call's arguments), writes one test and approves. `served` counts the answers given per
 * finishing tool; shared between workers, the script goes on where a dead worker's left off.
 * Every request is kept in `requests` with the messages it was shown.
 */
export function scriptedModel(
  coderRounds: Array<ToolCall[] | Record<string, unknown>>,
  served: Map<string, number>,
  requests: LlmCallRequest[],
): GraphDeps['llm'] {
  const answers: Record<string, () => unknown> = {
    submit_plan: () => ({ summary: 'p', steps: [] }),
    write_files: () => coderRounds[served.get('write_files') ?? 0],
    write_tests: () => ({ files: [{ path: 'a.test.mjs', content: 't' }] }),
    submit_review: () => ({ verdict: 'APPROVE', summary: 'ok', issues: [] }),
  };
  return {
    call: async (request: LlmCallRequest): Promise<LlmResult> => {
      // The loop goes on adding to the array it sent: keep what this call was shown.
      requests.push({ ...request, messages: [...request.messages] });
      const name = typeof request.toolChoice === 'object' ? request.toolChoice.name : request.tools![0].name;
      const answer = answers[name]();
      served.set(name, (served.get(name) ?? 0) + 1);
      const toolCalls = Array.isArray(answer)
        ? answer
        : [{ id: `${name}-${served.get(name)}`, name, arguments: answer as Record<string, unknown> }];
      const result = toolCallResult(toolCalls);
      // What the gateway commits with the call's usage row (a loop's memo) is "committed" here.
      request.recordWith?.(result).sql(() => '');
      return result;
    },
  };
}

class PassingTests extends TestRunner {
  async run(): Promise<TestRunOutput> {
    return { exitCode: 0, output: 'ok', timedOut: false, durationMs: 1, passed: 1, failed: 0, failures: [] };
  }
}

/** The graph's dependencies around a scripted model; `onToolCall` sees each answered tool call. */
export function scriptedDeps(
  llm: GraphDeps['llm'],
  progress: RunProgressService,
  workspaces: WorkspaceService,
  onToolCall: (tool: string, content: string) => void,
): GraphDeps {
  return {
    llm,
    tests: new PassingTests(),
    progress,
    events: { publishDelta: async () => undefined } as unknown as RunEventsService,
    council: null,
    repositories: null,
    tools: { workspaces, commands: null },
    trajectory: { toolCall: (call) => onToolCall(call.tool, call.content) },
    stepTimeoutMs: 5_000,
    streamDeltas: false,
    logger: console as unknown as Logger,
  };
}

/** A run's context with the defaults of these specs (two iterations, 40 tool calls, no council). */
export function scriptedContext(
  run: Run,
  recovering: boolean,
  signals: { signal?: AbortSignal; handover?: AbortSignal } = {},
): RunContext {
  return {
    run,
    signal: signals.signal ?? new AbortController().signal,
    handover: signals.handover,
    maxIterations: 2,
    requirePlanApproval: false,
    councilEnabled: false,
    judges: [],
    models: {},
    maxToolCalls: 40,
    loopContextTokens: 60_000,
    recovering,
  };
}
