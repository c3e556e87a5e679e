import { createTwoFilesPatch } from 'diff';
import type { TaskFile } from '#src/tasks/entities/task.entity.js';

/** A git-style unified diff from the task's input files to the run's result files. */
export function unifiedDiff(before: TaskFile[], after: TaskFile[]): string {
  const old = new Map(before.map((file) => [file.path, file.content]));
  const next = new Map(after.map((file) => [file.path, file.content]));
  const paths = [...new Set([...old.keys(), ...next.keys()])].sort();
  const parts: string[] = [];
  for (const path of paths) {
    const a = old.get(path);
    const b = next.get(path);
    if (a === b) continue;
    const patch = createTwoFilesPatch(
      a === undefined ? '/dev/null' : `a/${path}`,
      b === undefined ? '/dev/null' : `b/${path}`,
      a ?? '',
      b ?? '',
      undefined,
      undefined,
      {
        context: 3,
      },
    );
    // createTwoFilesPatch starts with an "Index"/"====" preamble only for createPatch; this one begins at ---.
    const body = patch
      .split('\n')
      .filter((line) => !line.startsWith('==================================================================='));
    parts.push(
      `diff --git a/${path} b/${path}\n${a === undefined ? 'new file mode 100644\n' : ''}${b === undefined ? 'deleted file mode 100644\n' : ''}${body.join('\n')}`,
    );
  }
  return parts.join('');
}
