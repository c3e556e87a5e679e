import type { ChatMessage, ToolDefinition } from './llm.types.js';
import { MAX_CACHE_BREAKPOINTS, planPromptCache } from './prompt-cache.js';

const tool = (name: string): ToolDefinition => ({ name, description: name, parameters: { type: 'object' } });
const tools = [tool('write_files'), tool('read_file')];

function loop(rounds: number): ChatMessage[] {
  const messages: ChatMessage[] = [
    { role: 'system', content: 'instructions' },
    { role: 'user', content: 'task and repository instructions' },
  ];
  for (let i = 0; i < rounds; i++) {
    messages.push({ role: 'assistant', content: '', toolCalls: [{ id: `c${i}`, name: 'read_file', arguments: {} }] });
    messages.push({ role: 'tool', toolCallId: `c${i}`, name: 'read_file', content: `result ${i}` });
  }
  return messages;
}

describe('planPromptCache', () => {
  it('a tool loop: system, the leading messages, the previous call’s end and the last message', () => {
    expect(planPromptCache({ messages: loop(3), tools, toolChoice: 'required' })).toEqual({
      system: true,
      // 1: task; 5: the tool result the previous call ended with; 7: the last message.
      messages: [1, 5, 7],
    });
  });

  it('the first round of a loop writes its leading messages once', () => {
    expect(planPromptCache({ messages: loop(0), tools, toolChoice: 'required' })).toEqual({
      system: true,
      messages: [1],
    });
  });

  it('never more than the provider allows', () => {
    for (let rounds = 0; rounds < 30; rounds++) {
      const plan = planPromptCache({ messages: loop(rounds), tools, toolChoice: 'required' });
      expect(plan.messages.length + (plan.system ? 1 : 0)).toBeLessThanOrEqual(MAX_CACHE_BREAKPOINTS);
    }
  });

  it('a single forced-tool call caches only the system prompt; off means nothing', () => {
    const single = { messages: loop(0), tools: [tools[0]], toolChoice: { name: 'write_files' } as const };
    expect(planPromptCache(single)).toEqual({ system: true, messages: [] });
    expect(planPromptCache({ ...single, promptCache: 'off' })).toEqual({ system: false, messages: [] });
    // A corrective retry continues the conversation: it is cached as one.
    expect(planPromptCache({ ...single, messages: loop(1) }).messages).toEqual([1, 3]);
  });
});
