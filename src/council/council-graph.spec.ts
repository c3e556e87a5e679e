import type { JudgeVerdict } from '#src/agents/graph/review.port.js';
import { buildCouncilGraph, runCouncilGraph } from './council-graph.js';

const verdict = (judge: string): JudgeVerdict => ({
  judge,
  status: 'completed',
  verdict: 'APPROVE',
  summary: 'ok',
  issues: [],
});

describe('runCouncilGraph (the council fan-out)', () => {
  it('returns or throws only once every judge it started has finished, even when one fails first', async () => {
    const closed: string[] = [];
    const cancel = new AbortController();
    const seats = ['security', 'performance', 'maintainability'].map((judge) => ({ judge }));
    const outcome = runCouncilGraph(
      buildCouncilGraph(),
      seats,
      {
        runJudge: async ({ judge }) => {
          if (judge === 'security') {
            cancel.abort(new Error('cancelled'));
            throw new Error('cancelled');
          }
          // The others notice the cancel later, close their steps, then give up.
          await new Promise((resolve) => setTimeout(resolve, 150));
          closed.push(judge);
          throw new Error('cancelled');
        },
        finish: async (verdicts) => verdicts.map((v) => v.judge),
      },
      cancel.signal,
    );
    await expect(outcome).rejects.toThrow('cancelled');
    expect(closed.sort()).toEqual(['maintainability', 'performance']);
  });

  it('hands every verdict to finish once all judges answered', async () => {
    const seats = ['security', 'performance'].map((judge) => ({ judge }));
    const judges = await runCouncilGraph(buildCouncilGraph(), seats, {
      runJudge: async ({ judge }) => verdict(judge),
      finish: async (verdicts) => verdicts.map((v) => v.judge).sort(),
    });
    expect(judges).toEqual(['performance', 'security']);
  });
});
