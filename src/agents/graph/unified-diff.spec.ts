import { unifiedDiff } from './unified-diff.js';

describe('unifiedDiff', () => {
  it('writes git-style sections for added, changed and deleted files, and nothing for unchanged ones', () => {
    const diff = unifiedDiff(
      [
        { path: 'a.js', content: 'one\n' },
        { path: 'same.js', content: 'x\n' },
        { path: 'gone.js', content: 'bye\n' },
      ],
      [
        { path: 'a.js', content: 'two\n' },
        { path: 'same.js', content: 'x\n' },
        { path: 'new.js', content: 'hi\n' },
      ],
    );
    expect(diff).toContain('diff --git a/a.js b/a.js\n--- a/a.js\n+++ b/a.js\n@@ -1,1 +1,1 @@\n-one\n+two\n');
    expect(diff).toContain('diff --git a/new.js b/new.js\nnew file mode 100644\n--- /dev/null\n+++ b/new.js\n');
    expect(diff).toContain('diff --git a/gone.js b/gone.js\ndeleted file mode 100644\n--- a/gone.js\n+++ /dev/null\n');
    expect(diff).not.toContain('same.js');
    expect(unifiedDiff([{ path: 'a', content: 'x' }], [{ path: 'a', content: 'x' }])).toBe('');
  });
});
