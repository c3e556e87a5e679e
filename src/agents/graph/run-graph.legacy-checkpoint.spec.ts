import { MemorySaver } from '@langchain/langgraph';
import type { LlmCallRequest, ToolCall } from '#src/agents/llm/llm.types.js';
import type { Run } from '#src/agents/runs/entities/run.entity.js';
import type { RunProgressService } from '#src/agents/runs/run-progress.service.js';
import type { WorkspaceService } from '#src/agents/workspace/workspace.service.js';
import {
  scriptedContext,
  scriptedDeps,
  scriptedModel,
  scriptedRun,
  temporaryWorkspaces,
} from '../../../test/support/scripted-graph.js';
import type { RunContext } from './run-context.js';
import { buildRunGraph } from './run-graph.js';
import { graphInput } from './run-graph.state.js';
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
  let workspaces: WorkspaceService;
  let dispose: () => void;
  const runId = 'run-legacy';
  const newRun = () => scriptedRun(runId);

  beforeEach(async () => ({ workspaces, dispose } = await temporaryWorkspaces()));
  afterEach(() => dispose());

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
      // The memo of each model call is not kept: these checkpoints are what a resumed run reads.
      stepProgressWrite: () => ({ sql: () => '' }),
      emit: async () => undefined,
      emitSoon: () => undefined,
      flushEvents: async () => undefined,
    } as unknown as RunProgressService;
    const deps = scriptedDeps(scriptedModel(CODER_ROUNDS, served, requests), progress, workspaces, (tool, content) => {
      answered.push([tool, content]);
      h.onToolCall!();
    });
    h.contexts = new Map();
    h.graph = buildRunGraph(deps, h.contexts, checkpointer);
    return h as Harness;
  }

  const contextFor = (recovering: boolean, handover?: AbortSignal): RunContext =>
    scriptedContext(newRun(), recovering, { handover });

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
