import type { AgentName } from '#src/agents/llm/llm.types.js';

/**
 * Checks a per-task model override (`config.models.*`) when the task is written, so a typo is a 400
 * at creation instead of a failed run later. Implemented with the LLM gateway's `assertModelRef`.
 */
export abstract class ModelRefValidator {
  /** A message saying what is wrong, or null when the gateway can route the reference. */
  abstract check(ref: string): string | null;

  /**
   * Why no configured provider can serve some of these agents' models (what to set), or null when
   * every one of them can be served: a run bound to fail is refused before it is queued.
   */
  abstract checkProviders(routes: Array<{ agent: AgentName; override?: string }>): string | null;
}
