import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, lstat, open, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { checkFilePath } from '#src/agents/workspace/workspace-path.js';
import type { SandboxMount } from '#src/agents/sandbox/sandbox.types.js';
import type { WorkspaceService } from '#src/agents/workspace/workspace.service.js';
import { isWorkspaceTool, WORKSPACE_TOOL_NAMES, WORKSPACE_TOOL_SCHEMAS } from './workspace-tool.schemas.js';
import type { WorkspaceToolArgs, WorkspaceToolName } from './workspace-tool.schemas.js';

/** A shell command run in the sandbox on a workspace (the sandbox module implements it). */
export interface CommandOutcome {
  exitCode: number | null;
  signal: string | null;
  output: string;
  timedOut: boolean;
  truncated: boolean;
  cancelled: boolean;
  durationMs: number;
  timeoutSeconds: number;
  maxOutputBytes: number;
}

export abstract class CommandRunner {
  abstract runCommand(request: {
    workspaceDir: string;
    command: string;
    /** The run's installed dependencies, shown read-only in the workspace (from the environment setup). */
    mounts?: SandboxMount[];
    signal?: AbortSignal;
  }): Promise<CommandOutcome>;
}

export interface ToolOutcome {
  ok: boolean;
  /** What the model reads as the tool's answer (bounded). */
  content: string;
  /** A short description for the `agent.tool_call` event: path, pattern or command. */
  target: string;
  /** The file a successful write_file, edit_file or delete_file changed (its workspace path). */
  changed?: { path: string; deleted: boolean };
}

/** Directories tools never show or search: VCS metadata and installed dependencies. */
export const HIDDEN_DIRS = new Set(['.git', 'node_modules', '.venv', 'venv', '__pycache__', '.pytest_cache']);

export const TOOL_LIMITS = {
  listEntries: 400,
  readLines: 250,
  readChars: 24_000,
  searchMatches: 100,
  searchLineChars: 200,
  searchTimeoutMs: 10_000,
  commandHeadChars: 2_000,
  commandTailChars: 6_000,
  resultChars: 30_000,
  targetChars: 200,
} as const;

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/**
 * Executes workspace tool calls on one directory (a run's checkout or a step's workspace). Every
 * path is confined exactly like the workspace's own writes: `..`, absolute paths, `.git` and links
 * are refused (parents are lstat'ed, files opened with O_NOFOLLOW). Everything the model did wrong
 * (unknown tool, bad arguments, refused path, failed edit) is an answer with `ok: false`, never a throw.
 */
export class WorkspaceToolbox {
  constructor(
    private readonly dir: string,
    private readonly workspaces: WorkspaceService,
    private readonly commands: CommandRunner | null,
    private readonly signal?: AbortSignal,
    private readonly mounts?: SandboxMount[],
    /** Where ripgrep is (null: search with git grep); found on the machine when not given. */
    private readonly ripgrepPath?: string | null,
  ) {}

  async execute(name: string, rawArgs: unknown): Promise<ToolOutcome> {
    if (!isWorkspaceTool(name)) {
      return {
        ok: false,
        target: clip(name, TOOL_LIMITS.targetChars),
        content: `Error: there is no tool named "${clip(name, 80)}". The tools are: ${WORKSPACE_TOOL_NAMES.join(', ')}, and your finishing tool.`,
      };
    }
    const parsed = WORKSPACE_TOOL_SCHEMAS[name].safeParse(rawArgs ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue.path.join('.') || 'arguments';
      return {
        ok: false,
        target: targetOf(name, rawArgs),
        content: `Error: invalid arguments for ${name}: ${where} ${issue.message}. Call it again with arguments matching its schema.`,
      };
    }
    const target = targetOf(name, parsed.data);
    try {
      const result = await this.dispatch(name, parsed.data);
      return { ...result, target, content: bound(result.content) };
    } catch (error) {
      if (error instanceof ToolRefusal) return { ok: false, target, content: `Error: ${error.message}` };
      throw error;
    }
  }

  /**
   * A file's text as the tools would read it (confined, no links followed), or null when it is
   * gone, refused or not text: what a step changed is read back this way after its commands ran.
   */
  async readWorkspaceFile(path: string): Promise<string | null> {
    try {
      const { abs, rel } = await this.resolve(path);
      return await this.readText(abs, rel);
    } catch (error) {
      if (error instanceof ToolRefusal) return null;
      throw error;
    }
  }

  private dispatch(name: WorkspaceToolName, args: unknown): Promise<Omit<ToolOutcome, 'target'>> {
    switch (name) {
      case 'list_files':
        return this.listFiles(args as WorkspaceToolArgs<'list_files'>);
      case 'read_file':
        return this.readFile(args as WorkspaceToolArgs<'read_file'>);
      case 'search':
        return this.search(args as WorkspaceToolArgs<'search'>);
      case 'edit_file':
        return this.editFile(args as WorkspaceToolArgs<'edit_file'>);
      case 'write_file':
        return this.writeFile(args as WorkspaceToolArgs<'write_file'>);
      case 'delete_file':
        return this.deleteFile(args as WorkspaceToolArgs<'delete_file'>);
      case 'run_command':
        return this.runCommand(args as WorkspaceToolArgs<'run_command'>);
    }
  }

  private async listFiles(args: WorkspaceToolArgs<'list_files'>) {
    const { abs, rel } = await this.resolve(args.path, { directory: true });
    const entries: string[] = [];
    let more = 0;
    const walk = async (absDir: string, relDir: string): Promise<void> => {
      const children = await readdir(absDir, { withFileTypes: true });
      children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const child of children) {
        if (child.isDirectory() && HIDDEN_DIRS.has(child.name)) continue;
        const path = relDir ? `${relDir}/${child.name}` : child.name;
        if (entries.length >= TOOL_LIMITS.listEntries) {
          more++;
          continue;
        }
        if (child.isDirectory()) {
          entries.push(`${path}/`);
          await walk(join(absDir, child.name), path);
        } else if (child.isSymbolicLink()) entries.push(`${path} -> (link, not followed)`);
        else if (child.isFile()) entries.push(path);
      }
    };
    await walk(abs, rel);
    if (entries.length === 0) return { ok: true, content: `${rel || '.'} is empty.` };
    const note = more > 0 ? `\n… ${more} more entries not shown: list a subdirectory.` : '';
    return { ok: true, content: entries.join('\n') + note };
  }

  private async readFile(args: WorkspaceToolArgs<'read_file'>) {
    const { abs, rel } = await this.resolve(args.path);
    const text = await this.readText(abs, rel);
    const lines = text.split('\n');
    if (lines.length > 1 && lines.at(-1) === '') lines.pop();
    const total = lines.length;
    const start = args.startLine ?? 1;
    if (start > total) throw new ToolRefusal(`${rel} has ${total} line(s); startLine ${start} is past its end.`);
    const wanted = args.endLine !== undefined ? Math.max(args.endLine, start) : start + TOOL_LIMITS.readLines - 1;
    let end = Math.min(wanted, total);
    const out: string[] = [];
    let size = 0;
    for (let n = start; n <= end; n++) {
      const line = `${n}\t${lines[n - 1]}`;
      if (size + line.length + 1 > TOOL_LIMITS.readChars && out.length > 0) {
        end = n - 1;
        break;
      }
      out.push(line);
      size += line.length + 1;
    }
    const notes: string[] = [];
    if (args.endLine !== undefined && args.endLine > total) notes.push(`(the file ends at line ${total})`);
    if (start > 1) notes.push(`(${start - 1} more lines above)`);
    if (end < total)
      notes.push(
        `(${total - end} more lines below: call read_file with startLine=${end + 1}, or search for what you need)`,
      );
    return { ok: true, content: [...out, ...notes].join('\n') };
  }

  private async search(args: WorkspaceToolArgs<'search'>) {
    const { rel } = await this.resolve(args.path, { directory: true, file: true });
    const rg = this.ripgrepPath === undefined ? await ripgrep() : this.ripgrepPath;
    // Both programs skip binary files and never follow links, and the answer is in path order
    // either way, so the same search gives the same answer (the stuck rule compares answers).
    const deadline = AbortSignal.timeout(TOOL_LIMITS.searchTimeoutMs);
    const signal = this.signal ? AbortSignal.any([this.signal, deadline]) : deadline;
    const found = rg
      ? await ripgrepSearch(rg, args.pattern, rel, this.dir, signal)
      : await gitGrep(args.pattern, rel, this.dir, signal);
    if (deadline.aborted && !this.signal?.aborted)
      throw new ToolRefusal('the search took too long: narrow the pattern or the path.');
    const { lines, more, exitCode, stderr } = found;
    if (exitCode === 128 || (exitCode !== 0 && exitCode !== 1 && exitCode !== null && lines.length === 0)) {
      const reason = stderr.trim().replace(/\s*\n\s*/g, ' ') || 'the search program failed';
      throw new ToolRefusal(`the search failed: ${clip(reason, 300)}`);
    }
    if (lines.length === 0)
      return { ok: true, content: `No matches for /${args.pattern}/ in ${rel || 'the workspace'}.` };
    const formatted = lines.map((line) => {
      const match = /^(.*?):(\d+):(.*)$/.exec(line);
      if (!match) return clip(line, TOOL_LIMITS.searchLineChars);
      return `${match[1]}:${match[2]}: ${clip(match[3], TOOL_LIMITS.searchLineChars)}`;
    });
    const note = more
      ? `\nMore than ${TOOL_LIMITS.searchMatches} matches: narrow your search (a more specific pattern or a path).`
      : '';
    return { ok: true, content: formatted.join('\n') + note };
  }

  private async editFile(args: WorkspaceToolArgs<'edit_file'>) {
    const { abs, rel } = await this.resolve(args.path);
    if (args.oldText === args.newText)
      return { ok: false, content: 'Error: oldText and newText are the same; nothing would change.' };
    const text = await this.readText(abs, rel);
    const positions: number[] = [];
    for (let at = text.indexOf(args.oldText); at !== -1; at = text.indexOf(args.oldText, at + 1)) {
      positions.push(at);
      if (positions.length > 50) break;
    }
    if (positions.length === 0) {
      const numbered = /^\s*\d+\t/m.test(args.oldText)
        ? ' oldText seems to carry line-number prefixes from read_file: leave them out.'
        : '';
      return {
        ok: false,
        content: `Error: oldText matches 0 times in ${rel}; nothing changed.${numbered} Read the file again (read_file) and copy the text exactly.`,
      };
    }
    if (positions.length > 1) {
      const lines = positions.map((at) => lineOf(text, at));
      return {
        ok: false,
        content: `Error: oldText matches ${positions.length > 50 ? 'more than 50' : positions.length} times in ${rel} (at lines ${lines.join(', ')}); nothing changed. Include more surrounding lines so that it matches exactly once.`,
      };
    }
    const at = positions[0];
    const updated = text.slice(0, at) + args.newText + text.slice(at + args.oldText.length);
    await this.workspaces.writeFiles(this.dir, [{ path: rel, content: updated }]);
    const first = lineOf(updated, at);
    const last = first + args.newText.split('\n').length - 1;
    const lines = updated.split('\n');
    const from = Math.max(1, first - 4);
    const to = Math.min(lines.length, last + 4);
    const snippet = lines
      .slice(from - 1, to)
      .map((line, i) => `${from + i}\t${line}`)
      .join('\n');
    return {
      ok: true,
      content: `Edited ${rel} (lines ${first}-${last} now read as below).\n${snippet}`,
      changed: { path: rel, deleted: false },
    };
  }

  private async writeFile(args: WorkspaceToolArgs<'write_file'>) {
    const { abs, rel } = await this.resolve(args.path, { missing: true });
    const existed = await lstat(abs).then(
      () => true,
      () => false,
    );
    await this.writeChecked(rel, args.content);
    const lines = args.content === '' ? 0 : args.content.split('\n').length - (args.content.endsWith('\n') ? 1 : 0);
    return {
      ok: true,
      content: `${existed ? 'Overwrote' : 'Created'} ${rel} (${lines} lines).`,
      changed: { path: rel, deleted: false },
    };
  }

  private async deleteFile(args: WorkspaceToolArgs<'delete_file'>) {
    const { abs, rel } = await this.resolve(args.path);
    await unlink(abs);
    return { ok: true, content: `Deleted ${rel}.`, changed: { path: rel, deleted: true } };
  }

  private async runCommand(args: WorkspaceToolArgs<'run_command'>) {
    if (!this.commands) throw new ToolRefusal('commands cannot run on this worker (no sandbox).');
    const outcome = await this.commands.runCommand({
      workspaceDir: this.dir,
      command: args.command,
      mounts: this.mounts,
      signal: this.signal,
    });
    const parts: string[] = [];
    const output = outcome.output.replace(/\s+$/, '');
    if (output) parts.push(headTail(output));
    else if (outcome.exitCode === 0) parts.push('The command ran successfully and produced no output.');
    if (outcome.timedOut) parts.push(`[the command did not finish within ${outcome.timeoutSeconds} s and was killed]`);
    if (outcome.truncated)
      parts.push(`[the command printed more than ${outcome.maxOutputBytes} bytes and was stopped]`);
    if (outcome.cancelled) parts.push('[the command was cancelled]');
    parts.push(
      outcome.exitCode !== null
        ? `[exit code ${outcome.exitCode}]`
        : `[killed${outcome.signal ? ` by ${outcome.signal}` : ''}]`,
    );
    return { ok: outcome.exitCode === 0 && !outcome.timedOut && !outcome.truncated, content: parts.join('\n') };
  }

  /** Reads a plain text file (no link, no device, no binary), bounded by the workspace's file size limit. */
  private async readText(abs: string, rel: string): Promise<string> {
    const handle = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') throw new ToolRefusal(`${rel} does not exist.`);
        if (error.code === 'ELOOP') throw new ToolRefusal(`${rel} is a link; links are not followed.`);
        throw error;
      },
    );
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new ToolRefusal(`${rel} is not a regular file.`);
      const max = this.workspaces.limits.maxFileBytes;
      if (info.size > max) throw new ToolRefusal(`${rel} is larger than ${max} bytes; search it instead.`);
      const data = await handle.readFile();
      if (data.includes(0)) throw new ToolRefusal(`${rel} is a binary file.`);
      return data.toString('utf8');
    } finally {
      await handle.close();
    }
  }

  private async writeChecked(rel: string, content: string): Promise<void> {
    try {
      await this.workspaces.writeFiles(this.dir, [{ path: rel, content }]);
    } catch (error) {
      throw new ToolRefusal((error as Error).message);
    }
  }

  /**
   * The absolute path of a workspace-relative path, refusing anything that leaves the workspace:
   * the path rules of the workspace, and no link anywhere on the way (each parent is lstat'ed).
   */
  private async resolve(
    input: string | undefined,
    accept: { directory?: boolean; file?: boolean; missing?: boolean } = {},
  ): Promise<{ abs: string; rel: string }> {
    const wantsDir = accept.directory === true;
    if (wantsDir && (input === undefined || input === '' || input === '.' || input === './'))
      return { abs: this.dir, rel: '' };
    const checked = checkFilePath(input);
    if (!checked.ok) throw new ToolRefusal(`path ${JSON.stringify(input)} ${checked.reason}.`);
    const segments = checked.path.split('/');
    let current = this.dir;
    for (const [index, segment] of segments.entries()) {
      current = join(current, segment);
      const info = await lstat(current).catch(() => undefined);
      const last = index === segments.length - 1;
      if (!info) {
        if (last && accept.missing) break;
        if (!last && accept.missing) break;
        throw new ToolRefusal(`${checked.path} does not exist.`);
      }
      if (info.isSymbolicLink()) throw new ToolRefusal(`${checked.path} goes through a link; links are not followed.`);
      if (!last && !info.isDirectory()) throw new ToolRefusal(`${checked.path} is not inside a directory.`);
      if (last) {
        if (info.isDirectory() && !wantsDir) throw new ToolRefusal(`${checked.path} is a directory.`);
        if (info.isFile() && wantsDir && !accept.file)
          throw new ToolRefusal(`${checked.path} is a file, not a directory.`);
        if (!info.isFile() && !info.isDirectory()) throw new ToolRefusal(`${checked.path} is not a regular file.`);
      }
    }
    return { abs: join(this.dir, checked.path), rel: checked.path };
  }
}

class ToolRefusal extends Error {}

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** A long command output keeps its beginning and its end (where the failing test usually is). */
export function headTail(text: string): string {
  const head = TOOL_LIMITS.commandHeadChars;
  const tail = TOOL_LIMITS.commandTailChars;
  if (text.length <= head + tail) return text;
  return `${text.slice(0, head)}\n[… ${text.length - head - tail} characters cut …]\n${text.slice(-tail)}`;
}

function bound(text: string): string {
  const max = TOOL_LIMITS.resultChars;
  return text.length > max
    ? `${text.slice(0, max)}\n[… ${text.length - max} more characters cut: ask for less (a line range, a narrower search)]`
    : text;
}

export function targetOf(name: string, args: unknown): string {
  const a = (args && typeof args === 'object' ? args : {}) as Record<string, unknown>;
  const text = (value: unknown): string =>
    value === undefined || value === null
      ? ''
      : typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
        ? String(value)
        : JSON.stringify(value);
  const pick =
    name === 'search'
      ? `${text(a.pattern)}${a.path ? ` in ${text(a.path)}` : ''}`
      : name === 'run_command'
        ? text(a.command)
        : name === 'read_file' && a.startLine
          ? `${text(a.path)}:${text(a.startLine)}-${text(a.endLine)}`
          : a.path === undefined && name === 'list_files'
            ? '.'
            : text(a.path);
  return clip(pick.replace(/\s+/g, ' '), TOOL_LIMITS.targetChars);
}

const RIPGREP_CANDIDATES = ['/usr/bin/rg', '/usr/local/bin/rg', '/bin/rg'];
let ripgrepPath: Promise<string | null> | undefined;

/** Where ripgrep is installed (looked up once), or null: search falls back to git grep. */
function ripgrep(): Promise<string | null> {
  ripgrepPath ??= (async () => {
    for (const candidate of RIPGREP_CANDIDATES) {
      const usable = await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      );
      if (usable) return candidate;
    }
    return null;
  })();
  return ripgrepPath;
}

const RIPGREP_FLAGS = [
  '--no-config',
  '--no-ignore',
  '--hidden',
  '--color=never',
  ...[...HIDDEN_DIRS].map((name) => `--glob=!${name}/`),
];

/** ripgrep's flags for matching lines, each as `path` NUL `line:text` (a path may hold a colon). */
const RIPGREP_LINES = ['--line-number', '--with-filename', '--no-heading', '--max-columns=2000', '--null'];

/**
 * ripgrep, answering the first matches in path order. `--sort=path` gets that order by searching on
 * one thread, and that is what a pattern with few matches spends most on: it reads the whole tree
 * (in a 10,000-file repository, opening and reading the files costs as much system time as
 * searching them, which a second core shares). So the search runs in parallel and its lines are
 * sorted here, as long as there are no more than the cap; past it (a common pattern), it is
 * stopped and the sorted search answers, stopping at the cap within the first files. Either way
 * the answer is the same, whichever way it was found.
 */
async function ripgrepSearch(rg: string, pattern: string, rel: string, cwd: string, signal: AbortSignal) {
  const cap = TOOL_LIMITS.searchMatches;
  const where = rel ? ['--', rel] : [];
  const byFile = new Map<string, string[]>();
  let count = 0;
  const parallel = await grepLines(
    rg,
    [...RIPGREP_FLAGS, ...RIPGREP_LINES, '--line-buffered', '--regexp', pattern, ...where],
    cwd,
    signal,
    (line) => {
      const match = matchOf(line);
      if (!match) return true;
      byFile.set(match.path, [...(byFile.get(match.path) ?? []), match.line]);
      return ++count <= cap;
    },
  );
  if (!parallel.stopped) {
    const lines = sortByPath([...byFile.keys()]).flatMap((path) => byFile.get(path)!);
    return { ...parallel, lines, more: false };
  }
  const lines: string[] = [];
  const sorted = await grepLines(
    rg,
    [...RIPGREP_FLAGS, ...RIPGREP_LINES, '--sort=path', '--regexp', pattern, ...where],
    cwd,
    signal,
    (line) => {
      const match = matchOf(line);
      if (match) lines.push(match.line);
      return lines.length < cap;
    },
  );
  return { ...sorted, exitCode: 0, lines, more: true };
}

/**
 * A line of ripgrep's `--null` output as `path:line:text`, with its path; null for ripgrep's own
 * notes (a match before a NUL byte: "WARNING: stopped searching binary file after match").
 */
function matchOf(output: string): { path: string; line: string } | null {
  const nul = output.indexOf('\0');
  if (nul < 0) return null;
  const path = output.slice(0, nul);
  return { path, line: `${path}:${output.slice(nul + 1)}` };
}

/** git grep, where ripgrep is not installed (no index: the workspace may be no repository); in path order. */
async function gitGrep(pattern: string, rel: string, cwd: string, signal: AbortSignal) {
  const lines: string[] = [];
  let more = false;
  const argv = [
    '-c',
    'core.quotePath=false',
    'grep',
    '--no-index',
    '--no-color',
    '-n',
    '-I',
    '-E',
    '-e',
    pattern,
    '--',
    rel || '.',
    ...[...HIDDEN_DIRS].map((name) => `:(exclude,glob)**/${name}/**`),
  ];
  const found = await grepLines('git', argv, cwd, signal, (line) => {
    if (lines.length < TOOL_LIMITS.searchMatches) {
      lines.push(line);
      return true;
    }
    more = true;
    return false;
  });
  return { ...found, lines, more };
}

/** Paths in the order of a sorted walk of the tree: component by component. */
function sortByPath(paths: string[]): string[] {
  const keyed = paths.map((path) => ({ path, parts: path.split('/') }));
  keyed.sort((a, b) => {
    const n = Math.min(a.parts.length, b.parts.length);
    for (let i = 0; i < n; i++) {
      if (a.parts[i] !== b.parts[i]) return a.parts[i] < b.parts[i] ? -1 : 1;
    }
    return a.parts.length - b.parts.length;
  });
  return keyed.map((entry) => entry.path);
}

/**
 * Runs the search program and hands each line of its output to `take` until it answers false
 * (then stops the program: `stopped`), or until `signal` aborts.
 */
function grepLines(
  program: string,
  argv: string[],
  cwd: string,
  signal: AbortSignal,
  take: (line: string) => boolean,
): Promise<{ exitCode: number | null; stderr: string; stopped: boolean }> {
  return new Promise((resolvePromise) => {
    const child = spawn(program, argv, {
      cwd,
      env: {
        PATH: '/usr/bin:/bin',
        HOME: cwd,
        LC_ALL: 'C.UTF-8',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_TERMINAL_PROMPT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      signal,
      killSignal: 'SIGKILL',
    });
    let stopped = false;
    let rest = '';
    let stderr = '';
    const feed = (line: string) => {
      if (stopped || take(line)) return;
      stopped = true;
      child.kill('SIGKILL');
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      if (stopped) return;
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const part of parts) feed(part);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < 4000) stderr += chunk;
    });
    child.on('error', () => undefined);
    child.on('close', (code) => {
      if (rest) feed(rest);
      resolvePromise({ exitCode: stopped ? 0 : code, stderr, stopped });
    });
  });
}
