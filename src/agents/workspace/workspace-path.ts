import { posix } from 'node:path';
import { registerDecorator, ValidationOptions } from 'class-validator';
import { hasControlCharacters } from '#src/common/control-characters.js';
import { WorkspacePathError } from './workspace.errors.js';

export const MAX_PATH_LENGTH = 255;
const MAX_SEGMENT_LENGTH = 100;
// Version-control metadata is never written by generated code: a planted .git/hooks script would run later.
const FORBIDDEN_SEGMENTS = new Set(['.git']);

export type PathCheck = { ok: true; path: string } | { ok: false; reason: string };

/**
 * Normalises a workspace-relative file path and says why it is refused: absolute paths, `..`
 * segments, NUL and control characters, backslashes, `.git`, over-long paths. The answer is the
 * canonical form (`./a//b.ts` → `a/b.ts`), the only form the workspace stores.
 */
export function checkFilePath(input: unknown): PathCheck {
  if (typeof input !== 'string') return { ok: false, reason: 'must be a string' };
  if (input.length === 0) return { ok: false, reason: 'must not be empty' };
  if (input.length > MAX_PATH_LENGTH) return { ok: false, reason: `must be at most ${MAX_PATH_LENGTH} characters` };
  if (hasControlCharacters(input)) return { ok: false, reason: 'must not contain NUL or control characters' };
  if (input.includes('\\')) return { ok: false, reason: 'must use forward slashes' };
  if (input.startsWith('/')) return { ok: false, reason: 'must be relative to the workspace' };
  const raw = input.split('/');
  if (raw.includes('..')) return { ok: false, reason: 'must not contain ".." segments' };
  const normalised = posix
    .normalize(input)
    .replace(/^(\.\/)+/, '')
    .replace(/\/+$/, '');
  if (normalised === '' || normalised === '.') return { ok: false, reason: 'must name a file' };
  const segments = normalised.split('/');
  if (segments.some((s) => s === '.' || s === '..' || s === ''))
    return { ok: false, reason: 'must name a file inside the workspace' };
  if (segments.some((s) => s.length > MAX_SEGMENT_LENGTH)) {
    return { ok: false, reason: `must not have a segment longer than ${MAX_SEGMENT_LENGTH} characters` };
  }
  if (segments.some((s) => FORBIDDEN_SEGMENTS.has(s.toLowerCase())))
    return { ok: false, reason: 'must not be inside .git' };
  return { ok: true, path: normalised };
}

/** The normalised path, or a 400 `VALIDATION_FAILED` naming `field`. */
export function validateFilePath(input: unknown, field = 'path'): string {
  const result = checkFilePath(input);
  if (!result.ok) throw new WorkspacePathError(field, result.reason);
  return result.path;
}

/** class-validator form of {@link checkFilePath}, for DTOs (`files[0].path must be relative …`). */
export function IsWorkspaceFilePath(options?: ValidationOptions): PropertyDecorator {
  return (object, propertyName) =>
    registerDecorator({
      name: 'isWorkspaceFilePath',
      target: object.constructor,
      propertyName: propertyName as string,
      options,
      validator: {
        validate: (value: unknown) => checkFilePath(value).ok,
        defaultMessage: (args) => {
          const result = checkFilePath(args?.value);
          return `${args?.property ?? 'path'} ${result.ok ? 'is not a valid path' : result.reason}`;
        },
      },
    });
}
