import type { FakeLlm, FakeReply, FakeRequest } from './fake-llm/index.js';
import type { AgentReply } from './runs.js';

/** Who a `submit_review` request is for: a council judge (by its system prompt) or the single reviewer. */
export function reviewerOf(request: FakeRequest): string {
  const match = /Your area is ([A-Z]+)/.exec(request.prompt);
  return match ? match[1].toLowerCase() : 'reviewer';
}

export interface CouncilScript {
  submit_plan?: AgentReply[];
  write_files?: AgentReply[];
  write_tests?: AgentReply[];
  /** The single reviewer (council disabled). */
  reviewer?: AgentReply[];
  /** Judges by name; the last reply of a queue repeats (so "500 until retries are spent" is one entry). */
  judges?: Record<string, AgentReply[]>;
}

/**
 * Answers every agent from its own queue: planner/coder/tester by the tool a request forces, the
 * single reviewer and each judge by who is asking. An exhausted non-judge queue fails loudly (400).
 */
export function scriptCouncil(fake: Pick<FakeLlm, 'script'>, script: CouncilScript) {
  const queues: Record<string, AgentReply[]> = {
    submit_plan: [...(script.submit_plan ?? [])],
    write_files: [...(script.write_files ?? [])],
    write_tests: [...(script.write_tests ?? [])],
    reviewer: [...(script.reviewer ?? [])],
  };
  const judges: Record<string, AgentReply[]> = Object.fromEntries(
    Object.entries(script.judges ?? {}).map(([name, replies]) => [name, [...replies]]),
  );
  const asked: string[] = [];
  fake.script((request) => {
    const tool = request.forcedTool ?? request.tools[0];
    let next: AgentReply | undefined;
    if (tool === 'submit_review') {
      const who = reviewerOf(request);
      asked.push(who);
      if (who === 'reviewer') next = queues.reviewer.shift();
      else next = (judges[who]?.length ?? 0) > 1 ? judges[who].shift() : judges[who]?.[0];
    } else {
      asked.push(tool);
      next = queues[tool]?.shift();
    }
    if (!next)
      return { kind: 'error', status: 400, message: `no scripted answer left for ${tool}` } satisfies FakeReply;
    if ('tool' in next)
      return {
        text: next.text,
        toolCalls: [{ name: tool, arguments: next.tool }],
        delayMs: next.delayMs,
        usage: next.usage,
      } satisfies FakeReply;
    if ('calls' in next) return { text: next.text, toolCalls: next.calls, delayMs: next.delayMs } satisfies FakeReply;
    if ('text' in next) return { text: next.text } satisfies FakeReply;
    return next satisfies FakeReply;
  });
  return {
    /** Every agent asked, in order (`submit_plan`, `write_files`, …, or a judge's name / `reviewer`). */
    asked,
    remaining: () => Object.fromEntries(Object.entries(queues).map(([k, q]) => [k, q.length])),
  };
}

export const review = (
  verdict: 'APPROVE' | 'REVISE' | 'REJECT',
  issues: unknown[] = [],
  score?: number,
  summary = `${verdict.toLowerCase()} from the judge`,
): AgentReply => ({
  tool: { verdict, summary, issues, ...(score !== undefined ? { score } : {}) },
});
