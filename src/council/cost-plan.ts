/**
 * The optional per-task council cost cap (`config.councilMaxCostUsd`). Judges run in parallel, so
 * the plan is made before any of them starts: each judge is charged its worst case (the gateway
 * reserves the same way: estimated input tokens plus `maxTokens` of output at the model's price),
 * in seat order, on top of what the council already spent in this run. A judge that would push the
 * total over the cap is skipped, and the skip is recorded with the numbers that caused it.
 */
import { addMoney, fromMicroCents, toMicroCents } from '#src/metrics/money.js';

export interface SeatEstimate {
  judge: string;
  /** Worst-case cost of this judge's call, USD decimal string. */
  worstCaseUsd: string;
}

export interface SkippedSeat extends SeatEstimate {
  reason: string;
}

export interface CostPlan {
  run: SeatEstimate[];
  skipped: SkippedSeat[];
  /** Spent + the worst case of every judge that runs. */
  reservedUsd: string;
}

export function planCouncilCost(seats: readonly SeatEstimate[], capUsd: string | undefined, spentUsd = '0'): CostPlan {
  if (capUsd === undefined) {
    return { run: [...seats], skipped: [], reservedUsd: addMoney(spentUsd, ...seats.map((s) => s.worstCaseUsd)) };
  }
  const cap = toMicroCents(capUsd);
  let reserved = toMicroCents(spentUsd);
  const run: SeatEstimate[] = [];
  const skipped: SkippedSeat[] = [];
  for (const seat of seats) {
    const next = reserved + toMicroCents(seat.worstCaseUsd);
    if (next > cap) {
      skipped.push({
        ...seat,
        reason: `council cost cap ${fromMicroCents(cap)} USD: worst case ${seat.worstCaseUsd} USD on top of ${fromMicroCents(reserved)} USD would exceed it`,
      });
    } else {
      run.push(seat);
      reserved = next;
    }
  }
  return { run, skipped, reservedUsd: fromMicroCents(reserved) };
}

/** A rough token count for the worst-case estimate: ~4 characters per token, rounded up. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
