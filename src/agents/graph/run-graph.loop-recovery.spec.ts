import { MemorySaver } from '@langchain/langgraph';
import type { LlmCallRequest, ToolCall } from '#src/agents/llm/llm.types.js';
import type { Run } from '#src/agents/runs/entities/run.entity.js';
import type { RunStep } from '#src/agents/runs/entities/run-step.entity.js';
import type { RunProgressService, StepProgress } from '#src/agents/runs/run-progress.service.js';
import type { WorkspaceService } from '#src/agents/workspace/workspace.service.js';
import {
  scriptedContext,
  scriptedDeps,
  scriptedModel,
  scriptedRun,
  temporaryWorkspaces,
} from '../../../test/support/scripted-graph.js';
import { RunInterruptedError } from './graph.errors.js';
import type { RunContext } from './run-context.js';
import { buildRunGraph } from './run-graph.js';
import { graphInput } from './run-graph.state.js';

/**
 * A tool loop's rounds are not checkpoints: the checkpoint is the loop's start, and each model call
 * leaves a memo on its step's row. A worker dying mid-loop (once, or again in the step that
 * continued the loop) is resumed from the newest memo: no model call is made twice, the call that
 * was running is answered as interrupted, and each worker's part of the loop is a step of its own.
 */

const CODER_ROUNDS: Array<ToolCall[] | Record<string, unknown>> = [
  [{ id: 'r1', name: 'list_files', arguments: {} }],
  [{ id: 'r2', name: 'write_file', arguments: { path: 'b.mjs', content: 'export const b = 2;\n' } }],
  [{ id: 'r3', name: 'read_file', arguments: { path: 'b.mjs' } }],
  [{ id: 'r4', name: 'search', arguments: { pattern: 'answer' } }],
  { files: [] },
];

type Row = Pick<
  RunStep,
  | 'id'
  | 'stepKey'
  | 'agent'
  | 'iteration'
  | 'status'
  | 'output'
  | 'provider'
  | 'model'
  | 'inputTokens'
  | 'cachedInputTokens'
  | 'outputTokens'
  | 'costUsd'
  | 'error'
>;

describe('run graph resuming a tool loop from its step memos', () => {
  let workspaces: WorkspaceService;
  let dispose: () => void;
  const runId = 'run-memo';
  const config = { configurable: { thread_id: runId } };
  const newRun = () => scriptedRun(runId);

  beforeEach(async () => ({ workspaces, dispose } = await temporaryWorkspaces()));
  afterEach(() => dispose());

  /** The step rows as the database keeps them (what RunProgressService reads and writes). */
  function progressOn(rows: Row[]): RunProgressService {
    const find = (id: string) => rows.find((row) => row.id === id)!;
    const record = (id: string, progress: StepProgress) =>
      Object.assign(find(id), { inputTokens: progress.usage.inputTokens, output: structuredClone(progress.output) });
    return {
      isCancelRequested: async () => false,
      completedStep: async (_run: string, key: string) =>
        rows.find((row) => row.stepKey === key && row.status === 'completed') ?? null,
      latestStep: async (_run: string, key: string) => rows.filter((row) => row.stepKey === key).at(-1) ?? null,
      setIteration: async (run: Run, iteration: number) => void (run.iteration = iteration),
      startStep: async (_run: Run, start: { agent: string; iteration: number; stepKey?: string }) => {
        const row: Row = {
          id: `step-${rows.length + 1}`,
          stepKey: start.stepKey ?? null,
          agent: start.agent,
          iteration: start.iteration,
          status: 'running',
          output: null,
          provider: null,
          model: null,
          inputTokens: 0,
          cachedInputTokens: 0,
          outputTokens: 0,
          costUsd: '0',
          error: null,
        };
        rows.push(row);
        return structuredClone(row);
      },
      recordStepProgress: async (id: string, progress: StepProgress) => record(id, progress),
      // Committed with the model call's usage row (the fake model "runs" the statement).
      stepProgressWrite: (id: string, progress: StepProgress) => ({ sql: () => (record(id, progress), '') }),
      finishStep: async (_run: Run, step: { id: string }, finish: { status: string; output?: unknown }) => {
        Object.assign(find(step.id), {
          status: finish.status,
          ...(finish.output === undefined ? {} : { output: structuredClone(finish.output) }),
        });
      },
      emit: async () => undefined,
      emitSoon: () => undefined,
      flushEvents: async () => undefined,
    } as unknown as RunProgressService;
  }

  /** A graph on `checkpointer` whose coder follows CODER_ROUNDS (shared across workers through `served`). */
  function worker(checkpointer: MemorySaver, rows: Row[], served: Map<string, number>, crashAtTool?: number) {
    const requests: LlmCallRequest[] = [];
    const answered: Array<[string, string]> = [];
    const signal = new AbortController();
    const deps = scriptedDeps(
      scriptedModel(CODER_ROUNDS, served, requests),
      progressOn(rows),
      workspaces,
      (tool, content) => {
        answered.push([tool, content]);
        // The worker dies while this call runs: the call's effect is unknown, nothing after it is stored.
        if (answered.length === crashAtTool) signal.abort(new RunInterruptedError());
      },
    );
    const contexts = new Map<string, RunContext>();
    const graph = buildRunGraph(deps, contexts, checkpointer);
    const run = async (recovering: boolean) => {
      contexts.set(runId, scriptedContext(newRun(), recovering, { signal: signal.signal }));
      return graph.invoke(recovering ? null : graphInput(newRun().input.files), config);
    };
    return { run, requests, answered };
  }

  /** What the next worker's claim does to the steps a dead worker left running. */
  const claim = (rows: Row[]) => rows.filter((r) => r.status === 'running').forEach((r) => (r.status = 'interrupted'));

  const coderCalls = (requests: LlmCallRequest[]) => requests.filter((r) => r.tools?.[0].name === 'write_files');
  const latestResults = (request: LlmCallRequest) =>
    request.messages.slice(request.messages.findLastIndex((m) => m.role === 'assistant') + 1).map((m) => m.content);

  it('a worker dying two rounds past the checkpoint: resumed from the memo, no model call made twice', async () => {
    const reference = worker(new MemorySaver(), [], new Map());
    const expected = await reference.run(false);

    const checkpointer = new MemorySaver();
    const rows: Row[] = [];
    const served = new Map<string, number>();
    // The coder's third tool call (read_file) is running when its worker dies.
    const first = worker(checkpointer, rows, served, 3);
    await expect(first.run(false)).rejects.toThrow(RunInterruptedError);
    expect(coderCalls(first.requests)).toHaveLength(3);
    claim(rows);

    const second = worker(checkpointer, rows, served);
    const end = await second.run(true);
    expect(end.run.outcome).toEqual({ status: 'completed' });
    expect(end.run.files).toEqual(expected.run.files);
    // Five coder calls in all, as without the crash: the three the dead worker paid for were not made again.
    expect(coderCalls([...first.requests, ...second.requests])).toHaveLength(coderCalls(reference.requests).length);
    const [resumed] = coderCalls(second.requests);
    expect(latestResults(resumed)).toEqual([expect.stringContaining('the worker running this call stopped')]);
    // The conversation before the lost call is the one the dead worker had built.
    expect(resumed.messages.slice(0, -1)).toEqual(coderCalls(reference.requests)[3].messages.slice(0, -1));
    const coderSteps = rows.filter((row) => row.stepKey === 'coder:1');
    expect(coderSteps.map((row) => row.status)).toEqual(['interrupted', 'completed']);
  });

  it('a loop dying again in the step that continued it resumes from that step', async () => {
    const reference = worker(new MemorySaver(), [], new Map());
    await reference.run(false);
    const checkpointer = new MemorySaver();
    const rows: Row[] = [];
    const served = new Map<string, number>();
    const first = worker(checkpointer, rows, served, 2);
    await expect(first.run(false)).rejects.toThrow(RunInterruptedError);
    claim(rows);
    // The continued loop answers the lost write_file, makes the third call, then dies in its read_file.
    const second = worker(checkpointer, rows, served, 2);
    await expect(second.run(true)).rejects.toThrow(RunInterruptedError);
    claim(rows);
    const third = worker(checkpointer, rows, served);
    const end = await third.run(true);

    expect(end.run.outcome).toEqual({ status: 'completed' });
    const all = [...first.requests, ...second.requests, ...third.requests];
    expect(coderCalls(all)).toHaveLength(coderCalls(reference.requests).length);
    expect(coderCalls(second.requests)).toHaveLength(1);
    expect(latestResults(coderCalls(third.requests)[0])).toEqual([
      expect.stringContaining('the worker running this call stopped'),
    ]);
    expect(rows.filter((row) => row.stepKey === 'coder:1').map((row) => row.status)).toEqual([
      'interrupted',
      'interrupted',
      'completed',
    ]);
  });
});
