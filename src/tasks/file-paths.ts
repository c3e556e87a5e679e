import { posix } from 'node:path';
import { hasControlCharacters } from '#src/common/control-characters.js';

/**
 * Normalises a workspace-relative path (`./src//a.ts` → `src/a.ts`) or explains why it is refused:
 * absolute paths, `..` escapes, backslashes, NUL and control characters never reach a workspace.
 */
export function normaliseWorkspacePath(raw: string): { path: string } | { error: string } {
  if (typeof raw !== 'string' || raw.trim() === '') return { error: 'must be a non-empty relative path' };
  if (raw.length > 255) return { error: 'must be at most 255 characters' };
  if (hasControlCharacters(raw)) return { error: 'must not contain control characters' };
  if (raw.includes('\\')) return { error: 'must use forward slashes' };
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) return { error: 'must be relative to the workspace' };
  const normalised = posix.normalize(raw);
  if (normalised === '.' || normalised.endsWith('/')) return { error: 'must name a file' };
  if (normalised === '..' || normalised.startsWith('../')) return { error: 'must stay inside the workspace' };
  if (normalised.split('/').some((part) => part === '.git' || part === 'node_modules')) {
    return { error: 'must not point into .git or node_modules' };
  }
  return { path: normalised };
}
