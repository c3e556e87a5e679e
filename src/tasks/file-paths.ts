import { checkFilePath } from '#src/agents/workspace/workspace-path.js';

/**
 * Normalises the path of a file a user or an agent hands over as a whole file (a task's files, a
 * finishing call's files) (`./src//a.ts` → `src/a.ts`) or explains why it is refused. These are the
 * workspace's own rules ({@link checkFilePath}: relative, no `..` segment, no backslash, no control
 * character, nothing in `.git`, bounded lengths), so whatever passes here a workspace also accepts
 * in the same form, plus three of their own: no trailing `/` (a directory), no drive letter (`C:/x`, a Windows path pasted by
 * mistake) and nothing in `node_modules` (installed dependencies are never the task's files).
 */
export function normaliseWorkspacePath(raw: string): { path: string } | { error: string } {
  if (typeof raw !== 'string' || raw.trim() === '') return { error: 'must be a non-empty relative path' };
  if (raw.endsWith('/')) return { error: 'must name a file' };
  const checked = checkFilePath(raw);
  if (!checked.ok) return { error: checked.reason };
  if (/^[A-Za-z]:/.test(checked.path)) return { error: 'must be relative to the workspace' };
  if (checked.path.split('/').includes('node_modules')) return { error: 'must not point into node_modules' };
  return { path: checked.path };
}
