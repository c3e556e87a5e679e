/**
 * A repository's own instructions for agents (API.md "Repository work"): the first of these files
 * at the root of the base commit is given to every agent and judge of the run.
 */
export const INSTRUCTION_FILES = ['AGENTS.md', 'CLAUDE.md', '.github/copilot-instructions.md'] as const;

/** What the agents are given at most, so a huge file cannot crowd out the task or cost a fortune. */
export const MAX_INSTRUCTIONS_BYTES = 16 * 1024;

export interface RepositoryInstructions {
  /** The file they come from (one of INSTRUCTION_FILES). */
  path: string;
  /** The text, cut to MAX_INSTRUCTIONS_BYTES with a note when the file is longer. */
  text: string;
}

/**
 * The file's bytes as prompt text: UTF-8 (a character cut in half at the bound is dropped), cut
 * at the bound on a line end when one is near, with a note saying how much was left out.
 */
export function boundInstructions(
  path: string,
  content: Buffer,
  size: number,
  maxBytes = MAX_INSTRUCTIONS_BYTES,
): RepositoryInstructions | null {
  const cut = size > maxBytes || content.length > maxBytes;
  let text = content.subarray(0, maxBytes).toString('utf8');
  if (cut) {
    // A multi-byte character split by the bound decodes as U+FFFD at the end: drop it.
    text = text.replace(/\uFFFD+$/, '');
    const lastLine = text.lastIndexOf('\n');
    if (lastLine >= 0 && lastLine > text.length - 2_000) text = text.slice(0, lastLine + 1);
  }
  text = text.trimEnd();
  if (!text) return null;
  if (cut) {
    text += `\n\n[… ${path} is ${size} bytes; only its first ${Buffer.byteLength(text)} bytes are shown. Read the rest with read_file if you need it.]`;
  }
  return { path, text };
}

/**
 * An agent's or judge's system prompt with the repository's instructions after it. They go in the
 * system message (not the task) because they are rules for the whole run, and they come last so the
 * fixed part of the prompt stays the same prefix for every run.
 */
export function withInstructions(system: string, instructions: RepositoryInstructions | null | undefined): string {
  if (!instructions) return system;
  return `${system}\n\nThe repository's own instructions for agents (from ${instructions.path}); follow them unless they contradict the task or the rules above:\n<repository-instructions>\n${instructions.text}\n</repository-instructions>`;
}
