import { boundInstructions, withInstructions } from './repository-instructions.js';

describe('repository instructions', () => {
  it('keeps a short file whole, trimmed', () => {
    const text = '# Rules\n\nUse tabs.\n\n';
    expect(boundInstructions('AGENTS.md', Buffer.from(text), Buffer.byteLength(text))).toEqual({
      path: 'AGENTS.md',
      text: '# Rules\n\nUse tabs.',
    });
  });

  it('cuts a long file at a line end within the bound and says how much was left out', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `rule ${i}: ${'x'.repeat(40)}`).join('\n');
    const size = Buffer.byteLength(lines);
    const bounded = boundInstructions('CLAUDE.md', Buffer.from(lines).subarray(0, 1001), size, 1000)!;
    const [shown, note] = bounded.text.split('\n\n[… ');
    expect(Buffer.byteLength(shown)).toBeLessThanOrEqual(1000);
    expect(lines.startsWith(shown)).toBe(true);
    expect(shown.endsWith('x')).toBe(true);
    expect(note).toBe(
      `CLAUDE.md is ${size} bytes; only its first ${Buffer.byteLength(shown)} bytes are shown. Read the rest with read_file if you need it.]`,
    );
  });

  it('never ends on half a character', () => {
    const text = 'é'.repeat(600); // 2 bytes each
    const bounded = boundInstructions('AGENTS.md', Buffer.from(text).subarray(0, 1001), Buffer.byteLength(text), 1001)!;
    expect(bounded.text.startsWith('é'.repeat(500) + '\n\n[…')).toBe(true);
    expect(bounded.text).not.toContain('\uFFFD');
  });

  it('treats an empty file as none', () => {
    expect(boundInstructions('AGENTS.md', Buffer.from('  \n'), 3)).toBeNull();
  });

  it('puts the instructions after the fixed system prompt, saying where they come from', () => {
    expect(withInstructions('You are the coder.', null)).toBe('You are the coder.');
    const system = withInstructions('You are the coder.', { path: 'AGENTS.md', text: 'Use tabs.' });
    expect(system.startsWith('You are the coder.\n\n')).toBe(true);
    expect(system).toContain('(from AGENTS.md)');
    expect(system.endsWith('<repository-instructions>\nUse tabs.\n</repository-instructions>')).toBe(true);
  });
});
