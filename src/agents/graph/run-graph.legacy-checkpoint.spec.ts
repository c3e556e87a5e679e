import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemorySaver } from '@langchain/langgraph';
import type { Logger } from '@nestjs/common';
import type { ConfigService } from '@nestjs/config';
import type { LlmCallRequest, LlmResult, ToolCall } from '#src/agents/llm/llm.types.js';
import type { Run } from '#src/agents/runs/entities/run.entity.js';
import type { RunEventsService } from '#src/agents/runs/run-events.service.js';
import type { RunProgressService } from '#src/agents/runs/run-progress.service.js';
import { WorkspaceService } from '#src/agents/workspace/workspace.service.js';
import type { AllConfig } from '#src/config/namespaces.js';
import type { GraphDeps, RunContext } from './run-context.js';
import { buildRunGraph } from './run-graph.js';
import { graphInput } from './run-graph.state.js';
import { TestRunner, TestRunOutput } from './test-runner.port.js';
import type { ToolLoopState } from './tool-loop.js';

/**
 * Checkpoints written before a tool-loop round was one graph node (commit 0367919) kept the loop in
 * the `run` channel and, between a model call and its tools, waited on the `agent_tools` node. A run
 * stopped there by a rolling deploy resumes on today's graph.
 */

const CODER_ROUNDS: Array<ToolCall[] | Record<string, unknown>> = [
  [
    { id: 'r1-list', name: 'list_files', arguments: {} },
    { id: 'r1-search', name: 'search', arguments: { pattern: 'answer' } },
  ],
  [{ id: 'r2-write', name: 'write_file', arguments: { path: 'b.mjs', content: 'export const b = 2;\n' } }],
  [{ id: 'r3-read', name: 'read_file', arguments: { path: 'b.mjs' } }],
  { files: [] },
];

interface Harness {
  graph: ReturnType<typeof buildRunGraph>;
  contexts: Map<string, RunContext>;
  /** Every model request made through this harness, in order. */
  requests: LlmCallRequest[];
  /** The tool calls answered through this harness: [call id, content]. */
  answered: Array<[string, string]>;
  onToolCall: () => void;
}

describe('run graph resuming a checkpoint of the two-node tool loop', () => {
  let dataDir: string;
  let workspaces: WorkspaceService;
  const runId = 'run-legacy';

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'quorum-legacy-ckpt-'));
    const config = {
      get: (ns: string) =>
        ns === 'app'
          ? { dataDir }
          : { workspace: { maxFiles: 100, maxFileBytes: 1_000_000, maxTotalBytes: 5_000_000, keepHours: 24 } },
    } as unknown as ConfigService<AllConfig, true>;
    workspaces = new WorkspaceService(config);
    await workspaces.onModuleInit();
    workspaces.onModuleDestroy();
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  const newRun = () =>
    ({
      id: runId,
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
      },
    }) as unknown as Run;

  /** A graph (today's code) on `checkpointer`, with a scripted tool-calling model and fakes around it. */
  function harness(checkpointer: MemorySaver, served: Map<string, number>): Harness {
    const requests: LlmCallRequest[] = [];
    const answered: Array<[string, string]> = [];
    const h: Partial<Harness> = { requests, answered, onToolCall: () => undefined };
    const progress = {
      isCancelRequested: async () => false,
      completedStep: async () => null,
      latestStep: async () => null,
      setIteration: async (run: Run, iteration: number) => void (run.iteration = iteration),
      startStep: async (_run: Run, start: { agent: string; iteration: number }) => ({
        id: `step-${start.agent}`,
        agent: start.agent,
        iteration: start.iteration,
        provider: null,
        model: null,
      }),
      finishStep: async () => undefined,
      recordStepProgress: async () => undefined,
      emit: async () => undefined,
      emitSoon: () => undefined,
      flushEvents: async () => undefined,
    } as unknown as RunProgressService;
    const answers: Record<string, () => unknown> = {
      submit_plan: () => ({ summary: 'p', steps: [] }),
      // The model's answers go on where the dead worker's left off (shared across harnesses).
      write_files: () => CODER_ROUNDS[served.get('write_files') ?? 0],
      write_tests: () => ({ files: [{ path: 'a.test.mjs', content: 't' }] }),
      submit_review: () => ({ verdict: 'APPROVE', summary: 'ok', issues: [] }),
    };
    const llm = {
      call: async (request: LlmCallRequest): Promise<LlmResult> => {
        // The loop goes on adding to the array it sent: keep what this call was shown.
        requests.push({ ...request, messages: [...request.messages] });
        const name = typeof request.toolChoice === 'object' ? request.toolChoice.name : request.tools![0].name;
        const answer = answers[name]();
        served.set(name, (served.get(name) ?? 0) + 1);
        const toolCalls = Array.isArray(answer)
          ? answer
          : [{ id: `${name}-${served.get(name)}`, name, arguments: answer as Record<string, unknown> }];
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
      },
    };
    class PassingTests extends TestRunner {
      async run(): Promise<TestRunOutput> {
        return { exitCode: 0, output: 'ok', timedOut: false, durationMs: 1, passed: 1, failed: 0, failures: [] };
      }
    }
    const deps: GraphDeps = {
      llm,
      tests: new PassingTests(),
      progress,
      events: { publishDelta: async () => undefined } as unknown as RunEventsService,
      council: null,
      repositories: null,
      tools: { workspaces, commands: null },
      trajectory: {
        toolCall: (call) => {
          answered.push([`${call.tool}`, call.content]);
          h.onToolCall!();
        },
      },
      stepTimeoutMs: 5_000,
      streamDeltas: false,
      logger: console as unknown as Logger,
    };
    h.contexts = new Map();
    h.graph = buildRunGraph(deps, h.contexts, checkpointer);
    return h as Harness;
  }

  function contextFor(recovering: boolean, handover?: AbortSignal): RunContext {
    return {
      run: newRun(),
      signal: new AbortController().signal,
      handover,
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

  const config = { configurable: { thread_id: runId } };

  /** The tool results each coder model call was shown (the tool messages after its last assistant message). */
  const coderToolResults = (requests: LlmCallRequest[]) =>
    requests
      .filter((r) => r.tools?.[0].name === 'write_files')
      .map((r) => {
        const lastAssistant = r.messages.findLastIndex((m) => m.role === 'assistant');
        return r.messages
          .slice(lastAssistant + 1)
          .filter((m) => m.role === 'tool')
          .map((m) => [m.name, m.content]);
      });

  /** The run without a stop: what a resumed run must match. */
  async function reference() {
    const h = harness(new MemorySaver(), new Map());
    h.contexts.set(runId, contextFor(false));
    const end = await h.graph.invoke(graphInput(newRun().input.files), config);
    return { requests: h.requests, answered: h.answered, end };
  }

  /**
   * Runs the graph until the coder's first round is done, the worker then being stopped (a deploy's
   * hand-over), and gives back the checkpoint it left and the model requests it made.
   */
  async function stopAfterFirstRound(checkpointer: MemorySaver, served: Map<string, number>) {
    const handover = new AbortController();
    const h = harness(checkpointer, served);
    h.onToolCall = () => {
      if (h.answered.length === 2) handover.abort();
    };
    h.contexts.set(runId, contextFor(false, handover.signal));
    await expect(h.graph.invoke(graphInput(newRun().input.files), config)).rejects.toThrow();
    const tuple = (await checkpointer.getTuple(config))!;
    expect(Object.keys(tuple.checkpoint.channel_values)).toContain('branch:to:agent_model');
    return { tuple, requests: h.requests };
  }

  /** Rewrites the latest checkpoint in place into the layout of before 0367919. */
  async function rewriteToLegacy(
    checkpointer: MemorySaver,
    tuple: NonNullable<Awaited<ReturnType<MemorySaver['getTuple']>>>,
    { pending, loop }: { pending: 'agent_model' | 'agent_tools'; loop: (current: ToolLoopState) => ToolLoopState },
  ) {
    const checkpoint = structuredClone(tuple.checkpoint);
    const values = checkpoint.channel_values;
    const versions = checkpoint.channel_versions;
    values.run = { ...(values.run as object), loop: loop(values.loop as ToolLoopState) };
    delete values.loop;
    delete versions.loop;
    for (const seen of Object.values(checkpoint.versions_seen)) delete seen.loop;
    if (pending === 'agent_tools') {
      values['branch:to:agent_tools'] = values['branch:to:agent_model'];
      versions['branch:to:agent_tools'] = versions['branch:to:agent_model'];
      delete values['branch:to:agent_model'];
      delete versions['branch:to:agent_model'];
    }
    await checkpointer.put(tuple.parentConfig ?? config, checkpoint, tuple.metadata!);
    const stored = (await checkpointer.getTuple(config))!;
    expect(stored.checkpoint.id).toBe(tuple.checkpoint.id);
    expect(Object.keys(stored.checkpoint.channel_values)).not.toContain('loop');
  }

  it('resumes a loop stopped after its tools (the loop in `run`): same tool results, no model call made twice', async () => {
    const expected = await reference();
    const checkpointer = new MemorySaver();
    const served = new Map<string, number>();
    const before = await stopAfterFirstRound(checkpointer, served);
    await rewriteToLegacy(checkpointer, before.tuple, { pending: 'agent_model', loop: (current) => current });

    const resumed = harness(checkpointer, served);
    resumed.contexts.set(runId, contextFor(true));
    const end = await resumed.graph.invoke(null, config);

    expect(end.run.outcome).toEqual({ status: 'completed' });
    expect(end.run.files).toEqual(expected.end.run.files);
    const requests = [...before.requests, ...resumed.requests];
    expect(requests.map((r) => r.tools?.[0].name)).toEqual(expected.requests.map((r) => r.tools?.[0].name));
    expect(coderToolResults(requests)).toEqual(coderToolResults(expected.requests));
    expect(coderToolResults(requests).slice(1)).toEqual([
      [
        ['list_files', 'a.mjs'],
        ['search', 'a.mjs:1: export const answer = 42;'],
      ],
      [['write_file', expect.stringContaining('Created b.mjs')]],
      [['read_file', expect.stringContaining('export const b = 2;')]],
    ]);
    // The old key is gone from `run`: an ended loop cannot be read back from it.
    expect(end.run).not.toHaveProperty('loop');
    expect(end.loop).toBeNull();
  });

  it('resumes a loop stopped between a model call and its tools (the `agent_tools` node pending)', async () => {
    const expected = await reference();
    const checkpointer = new MemorySaver();
    const served = new Map<string, number>();
    const before = await stopAfterFirstRound(checkpointer, served);
    // What the old model node left: the first round's answer, its tool calls not answered yet.
    await rewriteToLegacy(checkpointer, before.tuple, {
      pending: 'agent_tools',
      loop: (current) => ({
        ...current,
        messages: current.messages.slice(0, current.messages.findLastIndex((m) => m.role === 'assistant') + 1),
        calls: 0,
        repeat: null,
        workspaceDir: null,
      }),
    });

    const resumed = harness(checkpointer, served);
    resumed.contexts.set(runId, contextFor(true));
    const end = await resumed.graph.invoke(null, config);

    expect(end.run.outcome).toEqual({ status: 'completed' });
    expect(end.run.files).toEqual(expected.end.run.files);
    // The first round's answer came from the checkpoint: the model was not asked (nor paid) again.
    const requests = [...before.requests, ...resumed.requests];
    expect(requests.map((r) => r.tools?.[0].name)).toEqual(expected.requests.map((r) => r.tools?.[0].name));
    // The stopped worker may have been running those calls: they are answered as of unknown effect,
    // as the old tool node did; the later rounds see what an uninterrupted run saw.
    const [first, ...later] = coderToolResults(resumed.requests);
    expect(first).toEqual([
      ['list_files', expect.stringContaining('the worker running this call stopped')],
      ['search', expect.stringContaining('the worker running this call stopped')],
    ]);
    expect(later).toEqual(coderToolResults(expected.requests).slice(2));
    expect(end.run).not.toHaveProperty('loop');
    expect(end.loop).toBeNull();
  });
});
