import { isAbsolute, normalize } from 'node:path';
import { hasControlCharacters } from '#src/common/control-characters.js';
import { RepositoryUrlForbiddenError, RepositoryUrlInvalidError } from './repositories.errors.js';

export interface RepositoryUrlPolicy {
  /** Local paths and file:// URLs (development and tests only). */
  allowLocal: boolean;
  /** Plain http:// remotes (tests, internal mirrors). */
  allowHttp: boolean;
}

/**
 * Validates a repository URL and returns its normal form: `https://host/path` (no credentials, no
 * query or fragment), or `file:///absolute/path` for a local repository when the policy allows it.
 * Local paths become file:// URLs so git treats them like any remote (shallow clones work, nothing
 * is hard-linked).
 */
export function normaliseRepositoryUrl(raw: string, policy: RepositoryUrlPolicy): string {
  const input = raw.trim();
  if (!input || input.length > 2048 || /\s/.test(input) || hasControlCharacters(input)) {
    throw new RepositoryUrlInvalidError('must be an https URL of a git repository');
  }
  if (input.startsWith('/') || /^file:/i.test(input)) {
    if (!policy.allowLocal)
      throw new RepositoryUrlForbiddenError('local repositories are not allowed on this server; use an https URL');
    let path = input;
    if (/^file:/i.test(input)) {
      let parsed: URL;
      try {
        parsed = new URL(input);
      } catch {
        throw new RepositoryUrlInvalidError('is not a valid file:// URL');
      }
      if (parsed.host && parsed.host !== 'localhost')
        throw new RepositoryUrlInvalidError('a file:// URL must not name a host');
      path = decodeURIComponent(parsed.pathname);
    }
    if (!isAbsolute(path)) throw new RepositoryUrlInvalidError('a local repository must be an absolute path');
    return `file://${normalize(path).replace(/\/+$/, '') || '/'}`;
  }
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new RepositoryUrlInvalidError('must be an https URL of a git repository');
  }
  if (url.protocol === 'http:') {
    if (!policy.allowHttp) throw new RepositoryUrlInvalidError('must use https');
  } else if (url.protocol !== 'https:') {
    throw new RepositoryUrlInvalidError('must be an https URL (ssh, git:// and other transports are not supported)');
  }
  if (url.username || url.password) {
    throw new RepositoryUrlInvalidError('must not contain credentials; send the token as accessToken');
  }
  if (!url.hostname || url.search || url.hash)
    throw new RepositoryUrlInvalidError('must be a plain repository URL without query or fragment');
  if (url.pathname === '/' || url.pathname === '') throw new RepositoryUrlInvalidError('must name a repository path');
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

/** A display name: the last two path segments (`owner/repo`), without `.git`. */
export function repositoryNameOf(url: string): string {
  const path = url.startsWith('file://') ? url.slice('file://'.length) : new URL(url).pathname;
  return (
    path
      .replace(/\/+$/, '')
      .replace(/\.git$/, '')
      .split('/')
      .filter(Boolean)
      .slice(-2)
      .join('/') || url
  );
}
