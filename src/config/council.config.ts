import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { JUDGE_NAME_PATTERN } from '#src/council/judges.js';
import { envBool, envInt, parseEnv } from './env.js';

const judgeList = (fallback: string[]) =>
  z
    .string()
    .optional()
    .transform((v) =>
      v === undefined
        ? fallback
        : v.trim().toLowerCase() === 'none'
          ? []
          : [
              ...new Set(
                v
                  .split(',')
                  .map((s) => s.trim().toLowerCase())
                  .filter(Boolean),
              ),
            ],
    )
    .refine((list) => list.every((name) => JUDGE_NAME_PATTERN.test(name)), {
      message: 'judge names are lower-case words, comma-separated',
    });

const nonApprove = z.enum(['REVISE', 'REJECT'], { message: 'must be REVISE or REJECT' });

export const councilConfig = registerAs('council', () => {
  const env = parseEnv({
    USE_COUNCIL_REVIEW: envBool(false),
    COUNCIL_JUDGES: judgeList(['security', 'performance', 'maintainability']).refine((l) => l.length > 0, {
      message: 'needs at least one judge',
    }),
    COUNCIL_VETO_JUDGES: judgeList(['security']),
    COUNCIL_VETO_VERDICT: nonApprove.optional().default('REVISE'),
    COUNCIL_TIE_VERDICT: nonApprove.optional().default('REVISE'),
    COUNCIL_REQUIRE_PASSING_TESTS: envBool(true),
    COUNCIL_MIN_JUDGES: envInt(1, 1, 20),
    COUNCIL_STUCK_DETECTION: envBool(true),
    COUNCIL_JUDGE_MAX_TOKENS: envInt(4096, 256, 200_000),
    COUNCIL_MAX_COST_USD: z
      .string()
      .regex(/^\d+(\.\d{1,8})?$/, { message: 'must be a decimal amount in USD' })
      .optional(),
  });
  return {
    /** Default of a task's `config.councilEnabled`. */
    enabledByDefault: env.USE_COUNCIL_REVIEW,
    /** Default of a task's `config.judges`. */
    judges: env.COUNCIL_JUDGES,
    aggregation: {
      vetoJudges: env.COUNCIL_VETO_JUDGES,
      vetoVerdict: env.COUNCIL_VETO_VERDICT,
      tieVerdict: env.COUNCIL_TIE_VERDICT,
      requirePassingTests: env.COUNCIL_REQUIRE_PASSING_TESTS,
      minJudges: env.COUNCIL_MIN_JUDGES,
    },
    stuckDetection: env.COUNCIL_STUCK_DETECTION,
    judgeMaxTokens: env.COUNCIL_JUDGE_MAX_TOKENS,
    /** Default of a task's `config.councilMaxCostUsd` (unset: no cap). */
    maxCostUsd: env.COUNCIL_MAX_COST_USD,
  };
});
export type CouncilConfig = ReturnType<typeof councilConfig>;
