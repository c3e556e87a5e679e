import { constants } from 'node:fs';
import { lstat, open, realpath } from 'node:fs/promises';
import { isAbsolute, join, normalize, relative, sep } from 'node:path';
import { UnsafePathError } from './repositories.errors.js';

/**
 * Normalises a workspace-relative path and refuses anything that could leave the workspace:
 * absolute paths, `..` segments, NUL bytes, and the git directory.
 */
export function normaliseRelativePath(path: string): string {
  if (!path || path.includes('\0') || isAbsolute(path) || /^[A-Za-z]:/.test(path)) throw new UnsafePathError(path);
  const normalised = normalize(path.replaceAll('\\', '/'))
    .replace(/^(\.\/)+/, '')
    .replace(/\/+$/, '');
  if (!normalised || normalised === '.' || normalised === '..' || normalised.startsWith(`..${sep}`))
    throw new UnsafePathError(path);
  if (normalised.split(sep).some((part) => part === '..' || part === '.git')) throw new UnsafePathError(path);
  return normalised;
}

/**
 * Resolves `path` inside `root` without following any symbolic link on the way: every existing
 * component is checked with lstat, so a link in the repository (to /etc, to another workspace)
 * is refused instead of followed. Returns the absolute path.
 */
export async function resolveInside(root: string, path: string): Promise<string> {
  const rel = normaliseRelativePath(path);
  const realRoot = await realpath(root);
  let current = realRoot;
  for (const part of rel.split(sep)) {
    current = join(current, part);
    try {
      if ((await lstat(current)).isSymbolicLink()) throw new UnsafePathError(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') break;
      throw error;
    }
  }
  const absolute = join(realRoot, rel);
  if (relative(realRoot, absolute).startsWith('..')) throw new UnsafePathError(path);
  return absolute;
}

/**
 * Reads at most `maxBytes` of a regular file inside `root`, refusing links (O_NOFOLLOW on the
 * last component, lstat on the others). Returns null when the file does not exist or is not a
 * regular file.
 */
export async function readInside(
  root: string,
  path: string,
  maxBytes: number,
): Promise<{ content: Buffer; size: number } | null> {
  const absolute = await resolveInside(root, path);
  let handle;
  try {
    handle = await open(absolute, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    if (code === 'ELOOP') throw new UnsafePathError(path);
    throw error;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return null;
    const length = Math.min(stat.size, maxBytes);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return { content: buffer.subarray(0, bytesRead), size: stat.size };
  } finally {
    await handle.close();
  }
}
