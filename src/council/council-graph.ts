/**
 * The council as a LangGraph fan-out: START sends one `judge` task per seated judge (they run in
 * the same super-step, i.e. in parallel), and `aggregate` runs once every judge has answered. What
 * a judge or the aggregation does is supplied per review through `configurable.council`, so the
 * graph is compiled once and holds no request state.
 */
import { Annotation, END, Send, START, StateGraph } from '@langchain/langgraph';
import type { LangGraphRunnableConfig } from '@langchain/langgraph';
import type { JudgeVerdict } from '#src/agents/graph/review.port.js';

export interface CouncilSeat {
  judge: string;
}

export interface CouncilGraphContext<S extends CouncilSeat, R> {
  runJudge(seat: S): Promise<JudgeVerdict>;
  finish(verdicts: JudgeVerdict[]): Promise<R>;
}

const CouncilState = Annotation.Root({
  seats: Annotation<CouncilSeat[]>({ reducer: (_old, next) => next, default: () => [] }),
  /** Set only in the input a `Send` hands to one judge task. */
  seat: Annotation<CouncilSeat | undefined>({ reducer: (_old, next) => next, default: () => undefined }),
  verdicts: Annotation<JudgeVerdict[]>({ reducer: (all, next) => all.concat(next), default: () => [] }),
  outcome: Annotation<unknown>({ reducer: (_old, next) => next, default: () => undefined }),
});
type State = typeof CouncilState.State;

function context(config: LangGraphRunnableConfig): CouncilGraphContext<CouncilSeat, unknown> {
  const ctx = config.configurable?.council as CouncilGraphContext<CouncilSeat, unknown> | undefined;
  if (!ctx) throw new Error('council graph invoked without configurable.council');
  return ctx;
}

export function buildCouncilGraph() {
  return (
    new StateGraph(CouncilState)
      .addNode('judge', async (state: State, config: LangGraphRunnableConfig) => {
        if (!state.seat) throw new Error('judge task without a seat');
        return { verdicts: [await context(config).runJudge(state.seat)] };
      })
      .addNode('aggregate', async (state: State, config: LangGraphRunnableConfig) => ({
        outcome: await context(config).finish(state.verdicts),
      }))
      .addConditionalEdges(
        START,
        (state: State) => (state.seats.length ? state.seats.map((seat) => new Send('judge', { seat })) : 'aggregate'),
        ['judge', 'aggregate'],
      )
      .addEdge('judge', 'aggregate')
      .addEdge('aggregate', END)
      // The run graph's reviewer node is the unit of recovery; the fan-out keeps no checkpoints of its
      // own (a parent would otherwise lend it its checkpointer). Judges that answered are reused from
      // council_reviews instead (CouncilReviewerService).
      .compile({ name: 'council', checkpointer: false })
  );
}

export type CouncilGraph = ReturnType<typeof buildCouncilGraph>;

/** Runs the fan-out for these seats and returns what `finish` returned. */
export async function runCouncilGraph<S extends CouncilSeat, R>(
  graph: CouncilGraph,
  seats: S[],
  ctx: CouncilGraphContext<S, R>,
  signal?: AbortSignal,
): Promise<R> {
  signal?.throwIfAborted();
  // No `signal` for invoke on purpose: an aborted invoke returns at once while judges still run and
  // write their steps after the run's terminal event. Judges get the signal themselves, stop within
  // its reach and close their steps. A superstep whose first judge fails may still reject before
  // the others have closed theirs, so every judge started is awaited before this returns or throws.
  const judging: Array<Promise<JudgeVerdict>> = [];
  const tracked: CouncilGraphContext<S, R> = {
    runJudge: (seat) => {
      const verdict = ctx.runJudge(seat);
      judging.push(verdict);
      return verdict;
    },
    finish: (verdicts) => ctx.finish(verdicts),
  };
  try {
    const state = await graph.invoke(
      { seats },
      {
        configurable: { council: tracked },
        recursionLimit: Math.max(25, seats.length + 5),
        maxConcurrency: Math.max(1, seats.length),
      },
    );
    return state.outcome as R;
  } catch (error) {
    await Promise.allSettled(judging);
    // Several judges stopped by the same abort fail the superstep together: one reason is enough.
    if (signal?.aborted) throw signal.reason ?? error;
    throw error;
  }
}
