import type { ChatMessage } from '#src/agents/llm/llm.types.js';
import { repetition, shortenHistory } from './tool-loop.js';

describe('shortenHistory (a tool loop outgrowing its context budget)', () => {
  const big = (tag: string) => `${tag} ${'x'.repeat(8_000)}`;
  const round = (n: number): ChatMessage[] => [
    {
      role: 'assistant',
      content: '',
      toolCalls: [{ id: `c${n}`, name: 'write_file', arguments: { path: `f${n}.js`, content: big(`file ${n}`) } }],
    },
    { role: 'tool', toolCallId: `c${n}`, name: 'write_file', content: big(`result ${n}`) },
  ];
  const fixed: ChatMessage[] = [
    { role: 'system', content: big('instructions') },
    { role: 'user', content: big('task and plan') },
  ];

  it('leaves a conversation within the budget alone', () => {
    const messages = [...fixed, ...round(1)];
    expect(shortenHistory(messages, 2, 100_000)).toBe(messages);
  });

  it('shortens the oldest tool results and call arguments first, never the instructions, task or latest round', () => {
    const messages = [...fixed, ...round(1), ...round(2), ...round(3)];
    const out = shortenHistory(messages, 2, 9_000);
    expect(out.slice(0, 2)).toEqual(fixed);
    expect(out.slice(-2)).toEqual(messages.slice(-2));
    const first = out[3] as Extract<ChatMessage, { role: 'tool' }>;
    expect(first.content).toMatch(/^result 1 x+\n\[… older tool result shortened to save context \(8009 characters\)/);
    const call = out[2] as Extract<ChatMessage, { role: 'assistant' }>;
    expect(String(call.toolCalls![0].arguments.content)).toMatch(/\[… 8007 characters, shortened to save context\]$/);
    expect(call.toolCalls![0].arguments.path).toBe('f1.js');
    const size = out.reduce(
      (n, m) => n + m.content.length + (m.role === 'assistant' ? JSON.stringify(m.toolCalls).length : 0),
      0,
    );
    expect(size).toBeLessThanOrEqual(9_000 * 4);
  });
});

describe('repetition (the STUCK rules of a tool loop)', () => {
  it('finds the same round three times in a row, counting every repeat', () => {
    expect(repetition(['a', 'a'])).toBeNull();
    expect(repetition(['b', 'a', 'a', 'a'])?.told).toBe('you made the same call with the same result 3 times in a row');
    expect(repetition(['a', 'a', 'a', 'a'])?.stopped).toBe(
      'repeated the same tool call with the same result 4 times in a row',
    );
  });

  it('finds two rounds taking turns three times each, and only then', () => {
    expect(repetition(['a', 'b', 'a', 'b', 'a'])).toBeNull();
    expect(repetition(['a', 'b', 'a', 'b', 'a', 'b'])?.told).toBe(
      'you alternated between the same two calls, with the same results, 3 times each',
    );
    expect(repetition(['c', 'b', 'a', 'b', 'a', 'b'])).toBeNull();
    expect(repetition(['a', 'b', 'a', 'c', 'a', 'b'])).toBeNull();
  });

  it('leaves a loop that makes progress alone', () => {
    expect(repetition(['a', 'b', 'c', 'd', 'e', 'f'])).toBeNull();
    expect(repetition([])).toBeNull();
  });
});
