import { z } from 'zod';
import type { ToolDefinition } from '#src/agents/llm/llm.types.js';

/**
 * The workspace tools of the coder's and the tester's loop (API.md "Agent tools"): the JSON Schema
 * each model sees and the zod schema its arguments are checked against. Arguments that fail the
 * check go back to the model as an error result; they never fail the step.
 */
const path = z.string().min(1).max(255);

export const WORKSPACE_TOOL_SCHEMAS = {
  list_files: z.object({ path: z.string().max(255).optional() }).strict(),
  read_file: z
    .object({
      path,
      startLine: z.number().int().min(1).optional(),
      endLine: z.number().int().min(1).optional(),
    })
    .strict(),
  search: z.object({ pattern: z.string().min(1).max(500), path: z.string().max(255).optional() }).strict(),
  edit_file: z.object({ path, oldText: z.string().min(1).max(200_000), newText: z.string().max(200_000) }).strict(),
  write_file: z.object({ path, content: z.string().max(1_000_000) }).strict(),
  delete_file: z.object({ path }).strict(),
  run_command: z.object({ command: z.string().min(1).max(4000) }).strict(),
} as const;

export type WorkspaceToolName = keyof typeof WORKSPACE_TOOL_SCHEMAS;
export type WorkspaceToolArgs<N extends WorkspaceToolName> = z.infer<(typeof WORKSPACE_TOOL_SCHEMAS)[N]>;

export const WORKSPACE_TOOL_NAMES = Object.keys(WORKSPACE_TOOL_SCHEMAS) as WorkspaceToolName[];

export function isWorkspaceTool(name: string): name is WorkspaceToolName {
  return Object.hasOwn(WORKSPACE_TOOL_SCHEMAS, name);
}

const str = (description: string) => ({ type: 'string', description });
const int = (description: string) => ({ type: 'integer', minimum: 1, description });

export const WORKSPACE_TOOLS: Record<WorkspaceToolName, ToolDefinition> = {
  list_files: {
    name: 'list_files',
    description:
      'List the files and directories under a directory of the workspace (default: the root). Directories end with "/". .git and installed dependencies are left out.',
    parameters: { type: 'object', properties: { path: str('Directory relative to the workspace root.') } },
  },
  read_file: {
    name: 'read_file',
    description:
      'Read a file; every line comes prefixed with its 1-based number and a tab (the prefix is not part of the file). Long files come in windows: pass startLine/endLine for the rest, or search first.',
    parameters: {
      type: 'object',
      properties: {
        path: str('File path relative to the workspace root.'),
        startLine: int('First line to read (1-based).'),
        endLine: int('Last line to read (inclusive).'),
      },
      required: ['path'],
    },
  },
  search: {
    name: 'search',
    description:
      'Search the workspace for a regular expression (grep -E syntax: classes, groups, alternation, repetition; no backreferences). Answers matching lines as "path:line: text", capped; narrow the pattern or the path when there are too many.',
    parameters: {
      type: 'object',
      properties: {
        pattern: str('Regular expression.'),
        path: str('Directory or file to search in (default: the whole workspace).'),
      },
      required: ['pattern'],
    },
  },
  edit_file: {
    name: 'edit_file',
    description:
      'Replace the single occurrence of oldText in a file with newText. oldText must match exactly once (include surrounding lines to make it unique, without line-number prefixes); with no match or several nothing changes and the answer says where they are.',
    parameters: {
      type: 'object',
      properties: {
        path: str('File path relative to the workspace root.'),
        oldText: str('The exact text to replace (must occur exactly once).'),
        newText: str('The replacement text.'),
      },
      required: ['path', 'oldText', 'newText'],
    },
  },
  write_file: {
    name: 'write_file',
    description: 'Create a file, or replace the whole content of an existing one.',
    parameters: {
      type: 'object',
      properties: { path: str('File path relative to the workspace root.'), content: str('The whole content.') },
      required: ['path', 'content'],
    },
  },
  delete_file: {
    name: 'delete_file',
    description: 'Delete a file of the workspace.',
    parameters: {
      type: 'object',
      properties: { path: str('File path relative to the workspace root.') },
      required: ['path'],
    },
  },
  run_command: {
    name: 'run_command',
    description:
      'Run a shell command in the workspace inside the sandbox (no network, time-limited, non-interactive). Answers the exit code and the output (its beginning and end when long). Files the command writes are discarded afterwards: change files with edit_file / write_file.',
    parameters: {
      type: 'object',
      properties: { command: str('The shell command, e.g. "npm test".') },
      required: ['command'],
    },
  },
};
