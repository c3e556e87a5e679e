import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkspaceService } from '#src/agents/workspace/workspace.service.js';
import { temporaryWorkspaces } from '../../../test/support/scripted-graph.js';
import { CommandRunner, headTail, WorkspaceToolbox } from './workspace-toolbox.js';
import type { CommandOutcome } from './workspace-toolbox.js';

class ScriptedCommands extends CommandRunner {
  commands: string[] = [];
  constructor(private readonly outcome: Partial<CommandOutcome>) {
    super();
  }
  async runCommand(request: { command: string }): Promise<CommandOutcome> {
    this.commands.push(request.command);
    return {
      exitCode: 0,
      signal: null,
      output: '',
      timedOut: false,
      truncated: false,
      cancelled: false,
      durationMs: 1,
      timeoutSeconds: 5,
      maxOutputBytes: 1000,
      ...this.outcome,
    };
  }
}

describe('WorkspaceToolbox', () => {
  let dispose: () => void;
  let outside: string;
  let dir: string;
  let workspaces: WorkspaceService;
  const tools = (commands: CommandRunner | null = null) => new WorkspaceToolbox(dir, workspaces, commands);
  const big =
    Array.from({ length: 1600 }, (_, i) => `line ${i + 1}: value = ${i % 7 === 0 ? 'SEVEN' : i};`).join('\n') + '\n';

  beforeEach(async () => {
    ({ workspaces, dispose } = await temporaryWorkspaces());
    outside = mkdtempSync(join(tmpdir(), 'quorum-tools-outside-'));
    writeFileSync(join(outside, 'secret.txt'), 'TOP SECRET\n');
    dir = await workspaces.create('run-1');
    mkdirSync(join(dir, 'src/lib'), { recursive: true });
    mkdirSync(join(dir, 'node_modules/dep'), { recursive: true });
    writeFileSync(join(dir, 'src/big.js'), big);
    writeFileSync(join(dir, 'src/lib/a.js'), 'export const a = 1;\nexport const b = 1;\n');
    writeFileSync(join(dir, 'node_modules/dep/index.js'), 'SEVEN in a dependency\n');
    symlinkSync(join(outside, 'secret.txt'), join(dir, 'src/secret-link.txt'));
    symlinkSync(outside, join(dir, 'outside-dir'));
  });
  afterEach(() => {
    dispose();
    rmSync(outside, { recursive: true, force: true });
  });

  it('lists the tree without installed dependencies, marking directories and links', async () => {
    const result = await tools().execute('list_files', {});
    expect(result.ok).toBe(true);
    expect(result.content.split('\n')).toEqual([
      'outside-dir -> (link, not followed)',
      'src/',
      'src/big.js',
      'src/lib/',
      'src/lib/a.js',
      'src/secret-link.txt -> (link, not followed)',
    ]);
    expect((await tools().execute('list_files', { path: 'src/lib' })).content).toBe('src/lib/a.js');
  });

  it('reads numbered windows of a long file and says how to read the rest', async () => {
    const first = await tools().execute('read_file', { path: 'src/big.js' });
    expect(first.content.split('\n')[0]).toBe('1\tline 1: value = SEVEN;');
    expect(first.content).toContain('(1350 more lines below: call read_file with startLine=251');
    const window = await tools().execute('read_file', { path: 'src/big.js', startLine: 800, endLine: 802 });
    expect(window.content).toBe(
      '800\tline 800: value = 799;\n801\tline 801: value = 800;\n802\tline 802: value = 801;\n(799 more lines above)\n(798 more lines below: call read_file with startLine=803, or search for what you need)',
    );
    const past = await tools().execute('read_file', { path: 'src/big.js', startLine: 1599, endLine: 5000 });
    expect(past.content).toContain('(the file ends at line 1600)');
    expect(await tools().execute('read_file', { path: 'src/big.js', startLine: 2000 })).toMatchObject({
      ok: false,
      content: expect.stringContaining('has 1600 line(s)'),
    });
  });

  it('searches with ripgrep (git grep without it), capped, without installed dependencies', async () => {
    const few = await tools().execute('search', { pattern: 'export const [ab]' });
    expect(few).toMatchObject({ ok: true, target: 'export const [ab]' });
    expect(few.content.split('\n')).toEqual([
      'src/lib/a.js:1: export const a = 1;',
      'src/lib/a.js:2: export const b = 1;',
    ]);
    const many = await tools().execute('search', { pattern: 'SEVEN' });
    expect(many.content.split('\n')).toHaveLength(101);
    expect(many.content).toContain('More than 100 matches: narrow your search');
    expect(many.content).not.toContain('node_modules');
    expect((await tools().execute('search', { pattern: 'nothing-like-this' })).content).toMatch(/^No matches/);
    expect(await tools().execute('search', { pattern: 'a(' })).toMatchObject({ ok: false });
    expect((await tools().execute('search', { pattern: 'SECRET' })).content).toMatch(/^No matches/);
  });

  it('searches with git grep where ripgrep is not installed: the same answers', async () => {
    const gitGrep = new WorkspaceToolbox(dir, workspaces, null, undefined, undefined, null);
    const few = await gitGrep.execute('search', { pattern: 'export const [ab]' });
    expect(few).toMatchObject({ ok: true, target: 'export const [ab]' });
    expect(few.content.split('\n')).toEqual([
      'src/lib/a.js:1: export const a = 1;',
      'src/lib/a.js:2: export const b = 1;',
    ]);
    const many = await gitGrep.execute('search', { pattern: 'SEVEN' });
    expect(many.content.split('\n')).toHaveLength(101);
    expect(many.content).toContain('More than 100 matches: narrow your search');
    expect(many.content).not.toContain('node_modules');
    expect((await gitGrep.execute('search', { pattern: 'nothing-like-this' })).content).toMatch(/^No matches/);
    expect(await gitGrep.execute('search', { pattern: 'a(' })).toMatchObject({ ok: false });
    // The link to a file outside the workspace is not followed.
    expect((await gitGrep.execute('search', { pattern: 'SECRET' })).content).toMatch(/^No matches/);
    for (const args of [{ pattern: 'SEVEN' }, { pattern: 'export const [ab]' }, { pattern: 'b = 1', path: 'src' }]) {
      expect((await gitGrep.execute('search', args)).content).toBe((await tools().execute('search', args)).content);
    }
  });

  it('answers in path order, both below the cap (searched in parallel) and past it (searched sorted)', async () => {
    // Names where path order and plain string order differ: a directory sorts by its own name.
    mkdirSync(join(dir, 'a'));
    for (const path of ['a/b.js', 'a-c.js', 'a.js', 'ab.js']) {
      writeFileSync(join(dir, path), `// EDGE RARE\n// EDGE\n`);
    }
    for (let d = 0; d < 12; d++) {
      mkdirSync(join(dir, `z/d${d}`), { recursive: true });
      for (let f = 0; f < 10; f++) writeFileSync(join(dir, `z/d${d}/f${f}.js`), `// EDGE in ${d}/${f}\n`);
    }
    const rare = await tools().execute('search', { pattern: 'EDGE RARE' });
    expect(rare.content.split('\n')).toEqual([
      'a/b.js:1: // EDGE RARE',
      'a-c.js:1: // EDGE RARE',
      'a.js:1: // EDGE RARE',
      'ab.js:1: // EDGE RARE',
    ]);
    const common = (await tools().execute('search', { pattern: 'EDGE' })).content.split('\n');
    expect(common.slice(0, 8)).toEqual([
      'a/b.js:1: // EDGE RARE',
      'a/b.js:2: // EDGE',
      'a-c.js:1: // EDGE RARE',
      'a-c.js:2: // EDGE',
      'a.js:1: // EDGE RARE',
      'a.js:2: // EDGE',
      'ab.js:1: // EDGE RARE',
      'ab.js:2: // EDGE',
    ]);
    // z/d0 … z/d11 in path order (d10 before d2), each file's one line.
    const dirs = Array.from({ length: 12 }, (_, d) => `d${d}`).sort();
    const expected = dirs.flatMap((d) =>
      Array.from({ length: 10 }, (_, f) => `z/${d}/f${f}.js:1: // EDGE in ${d.slice(1)}/${f}`),
    );
    expect(common.slice(8, 100)).toEqual(expected.slice(0, 92));
    expect(common[100]).toContain('More than 100 matches');
    // The same answer every time (the stuck rule compares answers).
    expect((await tools().execute('search', { pattern: 'EDGE RARE' })).content).toBe(rare.content);
  });

  it('edits exactly one occurrence; none or several change nothing and say where', async () => {
    const several = await tools().execute('edit_file', { path: 'src/lib/a.js', oldText: '= 1;', newText: '= 2;' });
    expect(several).toMatchObject({ ok: false });
    expect(several.content).toContain('matches 2 times in src/lib/a.js (at lines 1, 2); nothing changed');
    const none = await tools().execute('edit_file', {
      path: 'src/lib/a.js',
      oldText: '1\texport const a',
      newText: 'x',
    });
    expect(none.content).toContain('matches 0 times');
    expect(none.content).toContain('line-number prefixes');
    const same = await tools().execute('edit_file', { path: 'src/lib/a.js', oldText: 'a = 1', newText: 'a = 1' });
    expect(same).toMatchObject({ ok: false, content: expect.stringContaining('the same') });
    expect(readFileSync(join(dir, 'src/lib/a.js'), 'utf8')).toBe('export const a = 1;\nexport const b = 1;\n');

    const once = await tools().execute('edit_file', {
      path: 'src/big.js',
      oldText: 'line 800: value = 799;',
      newText: 'line 800: value = 800;',
    });
    expect(once.ok).toBe(true);
    expect(once.content).toContain('800\tline 800: value = 800;');
    const after = readFileSync(join(dir, 'src/big.js'), 'utf8').split('\n');
    const changed = after.filter((line, i) => line !== big.split('\n')[i]);
    expect(changed).toEqual(['line 800: value = 800;']);
  });

  it('writes and deletes files, confined to the workspace', async () => {
    expect((await tools().execute('write_file', { path: 'test/new.test.js', content: 'a\nb\n' })).content).toBe(
      'Created test/new.test.js (2 lines).',
    );
    expect((await tools().execute('write_file', { path: 'test/new.test.js', content: 'c\n' })).content).toBe(
      'Overwrote test/new.test.js (1 lines).',
    );
    expect((await tools().execute('delete_file', { path: 'test/new.test.js' })).ok).toBe(true);
    expect(existsSync(join(dir, 'test/new.test.js'))).toBe(false);

    for (const [name, args] of [
      ['read_file', { path: '../../etc/passwd' }],
      ['read_file', { path: '/etc/passwd' }],
      ['read_file', { path: 'src/secret-link.txt' }],
      ['read_file', { path: 'outside-dir/secret.txt' }],
      ['list_files', { path: 'outside-dir' }],
      ['search', { pattern: 'SECRET', path: 'outside-dir' }],
      ['write_file', { path: 'outside-dir/planted.txt', content: 'x' }],
      ['write_file', { path: '.git/hooks/pre-commit', content: 'x' }],
      ['edit_file', { path: 'src/secret-link.txt', oldText: 'TOP', newText: 'BOTTOM' }],
      ['delete_file', { path: 'src/secret-link.txt' }],
      ['delete_file', { path: 'outside-dir/secret.txt' }],
    ] as const) {
      const result = await tools().execute(name, args);
      expect({ name, args, ok: result.ok }).toEqual({ name, args, ok: false });
      expect(result.content).toMatch(/^Error: /);
      expect(result.content).not.toContain('TOP SECRET');
    }
    expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe('TOP SECRET\n');
    expect(existsSync(join(outside, 'planted.txt'))).toBe(false);
  });

  it('answers unknown tools and bad arguments as errors the model can act on', async () => {
    expect(await tools().execute('rm_rf', {})).toMatchObject({
      ok: false,
      content: expect.stringContaining('there is no tool named "rm_rf"'),
    });
    expect(await tools().execute('read_file', { path: 7 })).toMatchObject({
      ok: false,
      content: expect.stringContaining('invalid arguments for read_file: path'),
    });
    expect(await tools().execute('edit_file', { path: 'a', oldText: 'x' })).toMatchObject({
      ok: false,
      content: expect.stringContaining('newText'),
    });
  });

  it('runs commands through the sandbox port and reports exit code, limits and a head+tail output', async () => {
    const flood = 'x'.repeat(50_000) + '\nFAILING TEST at the end';
    const commands = new ScriptedCommands({ exitCode: null, signal: 'SIGKILL', output: flood, truncated: true });
    const result = await tools(commands).execute('run_command', { command: 'yes' });
    expect(commands.commands).toEqual(['yes']);
    expect(result.ok).toBe(false);
    expect(result.content).toContain('[… ');
    expect(result.content).toContain('FAILING TEST at the end');
    expect(result.content).toContain('[the command printed more than 1000 bytes and was stopped]');
    expect(result.content.length).toBeLessThan(9_000);
    const quiet = await tools(new ScriptedCommands({})).execute('run_command', { command: 'true' });
    expect(quiet).toMatchObject({
      ok: true,
      content: 'The command ran successfully and produced no output.\n[exit code 0]',
    });
    const slow = await tools(new ScriptedCommands({ exitCode: null, timedOut: true })).execute('run_command', {
      command: 'sleep 100',
    });
    expect(slow.content).toContain('did not finish within 5 s and was killed');
    expect(headTail('short')).toBe('short');
  });
});
