/**
 * `submit_review`: the one tool every judge and the single reviewer answer with (API.md). The
 * arguments a model sends are parsed strictly: an unknown verdict or severity, a score outside 0–10
 * or a missing summary makes the answer invalid, and the judge gets one corrective retry.
 */
import { z } from 'zod';
import type { ToolCall, ToolDefinition } from '#src/agents/llm/llm.types.js';
import type { ReviewIssue, Verdict } from '#src/agents/graph/review.port.js';

export const SUBMIT_REVIEW_TOOL_NAME = 'submit_review';

export const SUBMIT_REVIEW_TOOL: ToolDefinition = {
  name: SUBMIT_REVIEW_TOOL_NAME,
  description: 'Submit your review of the code: a verdict, a one-paragraph summary, a 0-10 score and the issues found.',
  parameters: {
    type: 'object',
    properties: {
      verdict: { type: 'string', enum: ['APPROVE', 'REVISE', 'REJECT'] },
      summary: { type: 'string', description: 'One paragraph explaining the verdict.' },
      score: {
        type: 'number',
        minimum: 0,
        maximum: 10,
        description: 'Quality in your area, 0 (unusable) to 10 (exemplary).',
      },
      issues: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            severity: { type: 'string', enum: ['critical', 'warning', 'info'] },
            file: { type: 'string' },
            line: { type: 'integer', minimum: 1 },
            message: { type: 'string' },
          },
          required: ['severity', 'message'],
          additionalProperties: false,
        },
      },
    },
    required: ['verdict', 'summary', 'issues'],
    additionalProperties: false,
  },
};

const MAX_ISSUES = 100;
const MAX_TEXT = 4_000;

const issueSchema = z
  .object({
    severity: z.preprocess(
      (v) => (typeof v === 'string' ? v.trim().toLowerCase() : v),
      z.enum(['critical', 'warning', 'info']),
    ),
    file: z
      .string()
      .trim()
      .max(500)
      .optional()
      .nullable()
      .transform((v) => v || undefined),
    line: z
      .preprocess((v) => (typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v), z.number().int().min(1))
      .optional()
      .nullable()
      .transform((v) => v ?? undefined),
    message: z.string().trim().min(1).max(MAX_TEXT),
  })
  .strict();

export const submitReviewSchema = z
  .object({
    verdict: z.preprocess(
      (v) => (typeof v === 'string' ? v.trim().toUpperCase() : v),
      z.enum(['APPROVE', 'REVISE', 'REJECT']),
    ),
    summary: z.string().trim().min(1).max(MAX_TEXT),
    score: z
      .preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v), z.number().finite().min(0).max(10))
      .optional()
      .nullable()
      .transform((v) => v ?? undefined),
    issues: z.array(issueSchema).max(MAX_ISSUES),
  })
  .strict();

export interface SubmittedReview {
  verdict: Verdict;
  summary: string;
  score?: number;
  issues: ReviewIssue[];
}

export type ParseResult = { ok: true; review: SubmittedReview } | { ok: false; error: string };

/** Parses a `submit_review` argument object; the error names the first offending field. */
export function parseSubmitReview(args: unknown): ParseResult {
  const result = submitReviewSchema.safeParse(args);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue.path.length ? issue.path.join('.') : 'arguments';
    return { ok: false, error: `${field}: ${issue.message}` };
  }
  const { verdict, summary, score, issues } = result.data;
  return {
    ok: true,
    review: {
      verdict,
      summary,
      ...(score !== undefined ? { score } : {}),
      issues: issues.map((i) => ({
        severity: i.severity,
        message: i.message,
        ...(i.file ? { file: i.file } : {}),
        ...(i.line !== undefined ? { line: i.line } : {}),
      })),
    },
  };
}

/**
 * Finds the one `submit_review` call of a model answer. No call, several calls or invalid arguments
 * are all "missing" for the corrective retry, with a reason the retry message repeats to the model.
 */
export function extractSubmitReview(toolCalls: readonly ToolCall[]): ParseResult {
  const calls = toolCalls.filter((c) => c.name === SUBMIT_REVIEW_TOOL_NAME);
  if (calls.length === 0) return { ok: false, error: `no ${SUBMIT_REVIEW_TOOL_NAME} tool call` };
  if (calls.length > 1)
    return { ok: false, error: `${calls.length} ${SUBMIT_REVIEW_TOOL_NAME} calls; exactly one is expected` };
  return parseSubmitReview(calls[0].arguments);
}

export function correctiveMessage(error: string): string {
  return (
    `Your answer was not accepted (${error}). Call the tool \`${SUBMIT_REVIEW_TOOL_NAME}\` exactly once ` +
    'with {verdict: "APPROVE"|"REVISE"|"REJECT", summary, score (0-10), issues: [{severity: "critical"|"warning"|"info", file?, line?, message}]}, and nothing else.'
  );
}
