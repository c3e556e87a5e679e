import type { Dirent } from 'node:fs';
import { readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '#src/config/namespaces.js';
import { readInside } from './safe-path.js';
import { UnsafePathError } from './repositories.errors.js';

export interface RepositoryViewOptions {
  /** Budget for the whole view (tree + files), in estimated tokens (~4 characters each). */
  maxTokens?: number;
  /** Files (or directories) the agent asked for; they come first. */
  requestedPaths?: string[];
  /** Free text (task title and description): files whose names it mentions rank higher. */
  query?: string;
}

export interface RepositoryViewFile {
  path: string;
  content: string;
  /** True when only the beginning of the file fit in the budget. */
  truncated: boolean;
}

export interface RepositoryView {
  /** One path per line, directories with a trailing slash, links marked `-> (link, not followed)`. */
  tree: string;
  files: RepositoryViewFile[];
  /** Requested paths that were not shown, with the reason. */
  skipped: Array<{ path: string; reason: string }>;
  totalFiles: number;
  estimatedTokens: number;
}

const IGNORED_DIRECTORIES = new Set([
  '.git',
  'node_modules',
  'dist',
  'build',
  'out',
  'coverage',
  'vendor',
  '.venv',
  'venv',
  '__pycache__',
  '.next',
  '.nuxt',
  '.cache',
  '.idea',
  '.vscode',
  'target',
  '.tox',
  '.mypy_cache',
  '.pytest_cache',
]);
const KEY_FILES =
  /^(readme(\.\w+)?|package\.json|tsconfig\.json|pyproject\.toml|setup\.py|requirements\.txt|go\.mod|cargo\.toml)$/i;
const SOURCE_FILE = /\.(ts|tsx|js|jsx|mjs|cjs|py|go|rs|java|kt|rb|php|cs|c|h|cpp|hpp|swift|json|ya?ml|toml|md)$/i;
const MAX_TREE_ENTRIES = 5_000;
const MAX_FILE_BYTES = 512 * 1024;
const MAX_MISSES = 40;

export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

interface TreeEntry {
  path: string;
  kind: 'file' | 'dir' | 'link';
}

/**
 * A bounded, relevant view of a repository checkout for the planner and the coder: the file tree
 * and the files they asked for (then key files and files the task mentions), within a token
 * budget. Links are listed but never followed; nothing outside the checkout is read.
 */
@Injectable()
export class RepositoryContextService {
  private readonly defaultMaxTokens: number;

  constructor(config: ConfigService<AllConfig, true>) {
    this.defaultMaxTokens = config.get('repositories', { infer: true }).contextMaxTokens;
  }

  async view(dir: string, options: RepositoryViewOptions = {}): Promise<RepositoryView> {
    const maxTokens = options.maxTokens ?? this.defaultMaxTokens;
    const entries = await listTree(dir);
    const files = entries.filter((e) => e.kind === 'file');

    // The tree gets at most a third of the budget; a long tree is cut with a note.
    const treeBudget = Math.floor(maxTokens / 3) * 4;
    const lines: string[] = [];
    let treeLength = 0;
    for (const entry of entries) {
      const line =
        entry.kind === 'dir'
          ? `${entry.path}/`
          : entry.kind === 'link'
            ? `${entry.path} -> (link, not followed)`
            : entry.path;
      if (treeLength + line.length + 1 > treeBudget) {
        lines.push(`… ${entries.length - lines.length} more entries not shown`);
        break;
      }
      lines.push(line);
      treeLength += line.length + 1;
    }
    const tree = lines.join('\n');
    let remaining = maxTokens - estimateTokens(tree);

    const skipped: RepositoryView['skipped'] = [];
    const chosen: string[] = [];
    const filePaths = new Set(files.map((f) => f.path));
    const links = new Set(entries.filter((e) => e.kind === 'link').map((e) => e.path));
    for (const requested of options.requestedPaths ?? []) {
      const clean = requested.replace(/^\.\//, '').replace(/\/+$/, '');
      if (filePaths.has(clean)) chosen.push(clean);
      else if (links.has(clean)) skipped.push({ path: requested, reason: 'is a link (not followed)' });
      else {
        const under = files.filter((f) => f.path.startsWith(`${clean}/`)).map((f) => f.path);
        if (under.length > 0) chosen.push(...under);
        else skipped.push({ path: requested, reason: 'not found in the repository' });
      }
    }
    const requestedCount = chosen.length;
    chosen.push(
      ...rankByRelevance(
        files.map((f) => f.path),
        options.query ?? '',
      ),
    );

    const shown: RepositoryViewFile[] = [];
    const seen = new Set<string>();
    const root = await realpath(dir);
    // Ranked candidates that did not fit in a row: past a few dozen the rest will not fit either.
    let misses = 0;
    for (const [index, path] of chosen.entries()) {
      if (seen.has(path)) continue;
      seen.add(path);
      const isRequested = index < requestedCount;
      if (!isRequested && (misses >= MAX_MISSES || remaining < 32)) break;
      const header = `--- ${path} ---\n`;
      if (remaining <= estimateTokens(header) + 16) {
        if (isRequested) skipped.push({ path, reason: 'over the token budget' });
        continue;
      }
      let read;
      try {
        read = await readInside(root, path, MAX_FILE_BYTES);
      } catch (error) {
        if (error instanceof UnsafePathError) {
          if (isRequested) skipped.push({ path, reason: 'is a link or leaves the workspace' });
          continue;
        }
        throw error;
      }
      if (!read) continue;
      if (read.content.subarray(0, 8_000).includes(0)) {
        if (isRequested) skipped.push({ path, reason: 'binary file' });
        continue;
      }
      let content = read.content.toString('utf8');
      let truncated = read.size > read.content.length;
      const allowance = (remaining - estimateTokens(header)) * 4;
      if (content.length > allowance) {
        // Unrequested files are shown whole or not at all; requested ones may be cut.
        if (!isRequested) {
          misses += 1;
          continue;
        }
        content = content.slice(0, allowance);
        truncated = true;
      }
      shown.push({ path, content, truncated });
      misses = 0;
      remaining -= estimateTokens(header) + estimateTokens(content);
    }
    return {
      tree,
      files: shown,
      skipped,
      totalFiles: files.length,
      estimatedTokens: maxTokens - remaining,
    };
  }

  /** The view as prompt text. */
  render(view: RepositoryView): string {
    const parts = [`Repository files (${view.totalFiles}):`, view.tree];
    for (const file of view.files) {
      parts.push(`--- ${file.path} ---`, file.truncated ? `${file.content}\n… (truncated)` : file.content);
    }
    if (view.skipped.length > 0)
      parts.push(`Not shown: ${view.skipped.map((s) => `${s.path} (${s.reason})`).join('; ')}`);
    return parts.join('\n');
  }
}

/** Every entry under `dir` (sorted, relative, ignoring build output and VCS dirs); links are not entered. */
async function listTree(dir: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const walk = async (absolute: string, prefix: string): Promise<void> => {
    if (out.length >= MAX_TREE_ENTRIES) return;
    let entries: Dirent[];
    try {
      entries = await readdir(absolute, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      if (out.length >= MAX_TREE_ENTRIES) return;
      const path = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isSymbolicLink()) out.push({ path, kind: 'link' });
      else if (entry.isDirectory()) {
        if (IGNORED_DIRECTORIES.has(entry.name)) continue;
        out.push({ path, kind: 'dir' });
        await walk(join(absolute, entry.name), path);
      } else if (entry.isFile()) out.push({ path, kind: 'file' });
    }
  };
  await walk(dir, '');
  return out;
}

/** Key files first, then files whose name or path the query mentions, then other source files by depth. */
function rankByRelevance(paths: string[], query: string): string[] {
  const words = new Set(
    query
      .toLowerCase()
      .split(/[^a-z0-9_.-]+/)
      .filter((w) => w.length >= 3),
  );
  const score = (path: string): number => {
    const name = path.split('/').at(-1)!.toLowerCase();
    const stem = name.replace(/\.[^.]+$/, '');
    let s = 0;
    if (KEY_FILES.test(name) && !path.includes('/')) s += 100;
    if (words.has(name) || words.has(stem) || words.has(path.toLowerCase())) s += 50;
    for (const part of path.toLowerCase().split(/[/._-]/)) if (part.length >= 3 && words.has(part)) s += 10;
    if (SOURCE_FILE.test(name)) s += 5;
    if (/(^|\/)(test|tests|__tests__|spec)(\/|$)|\.(test|spec)\./i.test(path)) s -= 2;
    return s - path.split('/').length;
  };
  return paths
    .map((path) => ({ path, score: score(path) }))
    .filter((p) => p.score > 0)
    .sort((a, b) => b.score - a.score || a.path.localeCompare(b.path))
    .map((p) => p.path);
}
