import { z } from 'zod';
import type { ToolDefinition } from '#src/agents/llm/llm.types.js';
import { SUBMIT_REVIEW_TOOL, submitReviewSchema } from './review-tool.js';

/**
 * The agent tool protocol (API.md): every agent answers through exactly one tool call. Each tool has
 * the JSON Schema the model sees and the zod schema its arguments are checked against.
 */
const fileSchema = z.object({ path: z.string().min(1).max(255), content: z.string().max(200_000) });

export const planSchema = z.object({
  summary: z.string().min(1).max(4000),
  steps: z
    .array(
      z.object({
        title: z.string().min(1).max(300),
        detail: z.string().max(4000).optional().default(''),
        files: z.array(z.string().max(255)).max(50).optional().default([]),
      }),
    )
    .max(30)
    .optional()
    .default([]),
});
export type Plan = z.infer<typeof planSchema>;

// `files` may be empty when the work was done with the workspace tools (edits already in place).
export const writeFilesSchema = z.object({
  files: z.array(fileSchema).max(50),
  notes: z.string().max(4000).optional(),
});
export type WriteFiles = z.infer<typeof writeFilesSchema>;

export const writeTestsSchema = z.object({ files: z.array(fileSchema).max(50) });
export type WriteTests = z.infer<typeof writeTestsSchema>;

/** The single reviewer parses `submit_review` exactly as the council's judges do. */
export const reviewSchema = submitReviewSchema;

export type SubmittedReview = z.infer<typeof reviewSchema>;

const fileArray = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      path: { type: 'string', description: 'Path relative to the workspace root.' },
      content: { type: 'string' },
    },
    required: ['path', 'content'],
  },
};

export const TOOLS = {
  submit_plan: {
    name: 'submit_plan',
    description: 'Submit the implementation plan for the task.',
    parameters: {
      type: 'object',
      properties: {
        summary: { type: 'string' },
        steps: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              title: { type: 'string' },
              detail: { type: 'string' },
              files: { type: 'array', items: { type: 'string' } },
            },
            required: ['title'],
          },
        },
      },
      required: ['summary', 'steps'],
    },
  },
  write_files: {
    name: 'write_files',
    description:
      'Finish your work: write the complete source files of the solution (not the tests). `files` may be empty when your edits are already in the workspace.',
    parameters: { type: 'object', properties: { files: fileArray, notes: { type: 'string' } }, required: ['files'] },
  },
  write_tests: {
    name: 'write_tests',
    description:
      'Finish your work: write the test files that check the solution. `files` may be empty when you already wrote them in the workspace.',
    parameters: { type: 'object', properties: { files: fileArray }, required: ['files'] },
  },
  submit_review: SUBMIT_REVIEW_TOOL,
} satisfies Record<string, ToolDefinition>;

export type ToolName = keyof typeof TOOLS;
