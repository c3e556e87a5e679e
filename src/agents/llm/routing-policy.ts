import type { RoutingDecision } from './llm.types.js';
import type { ResolvedModel } from './model-ref.js';

export interface CandidateFacts {
  /** Estimated cost of this call on the candidate, in any fixed unit (10^-8 USD). */
  cost: bigint;
  /** p95 latency over the sliding window; undefined without samples. */
  p95Ms?: number;
  /** Why the candidate cannot serve now (disabled, not configured, open circuit), or null. */
  skip: string | null;
}

export interface RoutingInput {
  candidates: ResolvedModel[];
  facts: (candidate: ResolvedModel) => CandidateFacts;
  latencySloMs?: number;
  /** A provider an admin forced: chosen whenever it can serve. */
  forced?: { target: ResolvedModel; listed: boolean };
}

export interface RoutingOutcome {
  /** Candidates to try, best first (those that cannot serve are left out). */
  order: ResolvedModel[];
  decision: RoutingDecision;
}

export const refOf = (m: ResolvedModel): string => `${m.provider}:${m.model}`;

/**
 * The router's score of a candidate, lowest wins (docs/llm.md "Routing"):
 *
 *   score = cost ÷ cheapest cost  +  latency penalty
 *   latency penalty = 0 when there is no SLO, no sample yet, or p95 ≤ SLO; else 1 + (p95 − SLO) ÷ SLO
 *
 * A candidate within the SLO therefore always beats one that misses it unless it costs more than
 * twice as much; among candidates that all miss it, the cost and how far each misses trade off.
 * Ties keep the order the route lists them in. A candidate without samples counts as meeting the
 * SLO, so a new provider gets measured.
 */
export function scoreOf(cost: bigint, cheapest: bigint, p95Ms: number | undefined, sloMs?: number): number {
  const costRatio = cheapest > 0n ? Number(cost) / Number(cheapest) : cost > 0n ? Number.POSITIVE_INFINITY : 1;
  if (!sloMs || p95Ms === undefined || p95Ms <= sloMs) return costRatio;
  return costRatio + 1 + (p95Ms - sloMs) / sloMs;
}

/** Chooses among a route's candidates: forced first, else by score; skipped candidates are left out. */
export function chooseRoute(input: RoutingInput): RoutingOutcome {
  const candidates = input.candidates.map(refOf);
  if (input.forced) {
    const facts = input.facts(input.forced.target);
    if (!facts.skip) {
      const rest = input.candidates.filter((c) => c.provider !== input.forced?.target.provider);
      const others = rank(rest, input).map((r) => r.candidate);
      return {
        order: [input.forced.target, ...others],
        decision: {
          candidates,
          chosen: refOf(input.forced.target),
          reason: `forced by admin (${input.forced.target.provider})`,
        },
      };
    }
  }
  if (input.candidates.length === 1) {
    const only = input.candidates[0];
    const skip = input.facts(only).skip;
    return {
      order: skip ? [] : [only],
      decision: {
        candidates,
        chosen: skip ? '' : refOf(only),
        reason: skip ? `no candidate can serve (${candidates[0]}: ${skip})` : 'only candidate',
      },
    };
  }
  const ranked = rank(input.candidates, input);
  if (!ranked.length) {
    const why = input.candidates.map((c) => `${refOf(c)}: ${input.facts(c).skip}`).join('; ');
    return { order: [], decision: { candidates, chosen: '', reason: `no candidate can serve (${why})` } };
  }
  const best = ranked[0];
  const skipped = input.candidates
    .map((c) => ({ c, skip: input.facts(c).skip }))
    .filter((s) => s.skip)
    .map((s) => `${refOf(s.c)} skipped: ${s.skip}`);
  const latency =
    best.p95Ms === undefined
      ? 'no latency samples'
      : input.latencySloMs
        ? `p95 ${best.p95Ms} ms ${best.p95Ms <= input.latencySloMs ? '≤' : '>'} SLO ${input.latencySloMs} ms`
        : `p95 ${best.p95Ms} ms, no SLO`;
  return {
    order: ranked.map((r) => r.candidate),
    decision: {
      candidates,
      chosen: refOf(best.candidate),
      reason: [`lowest score ${best.score.toFixed(2)} (${latency})`, ...skipped].join('; '),
    },
  };
}

function rank(
  candidates: ResolvedModel[],
  input: RoutingInput,
): { candidate: ResolvedModel; score: number; p95Ms?: number }[] {
  const usable = candidates
    .map((candidate, index) => ({ candidate, index, facts: input.facts(candidate) }))
    .filter((c) => !c.facts.skip);
  if (!usable.length) return [];
  let cheapest = usable[0].facts.cost;
  for (const c of usable) if (c.facts.cost < cheapest) cheapest = c.facts.cost;
  return usable
    .map((c) => ({
      candidate: c.candidate,
      index: c.index,
      p95Ms: c.facts.p95Ms,
      score: scoreOf(c.facts.cost, cheapest, c.facts.p95Ms, input.latencySloMs),
    }))
    .sort((a, b) => a.score - b.score || a.index - b.index);
}
