import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigService } from '@nestjs/config';
import { estimateTokens, RepositoryContextService } from './repository-context.service.js';
import { readInside, resolveInside } from './safe-path.js';

function service(): RepositoryContextService {
  const config = new ConfigService({ repositories: { contextMaxTokens: 4_000 } });
  return new RepositoryContextService(config as unknown as ConfigService<never, true>);
}

describe('RepositoryContextService', () => {
  let dir: string;
  let outside: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'quorum-view-'));
    outside = mkdtempSync(join(tmpdir(), 'quorum-outside-'));
    writeFileSync(join(outside, 'secret.txt'), 'TOP-SECRET\n');
    mkdirSync(join(dir, 'src/lib'), { recursive: true });
    mkdirSync(join(dir, 'node_modules/dep'), { recursive: true });
    writeFileSync(join(dir, 'README.md'), '# demo\n');
    writeFileSync(join(dir, 'package.json'), '{"name":"demo"}\n');
    writeFileSync(join(dir, 'src/parser.ts'), 'export function parse() {}\n');
    writeFileSync(join(dir, 'src/lib/util.ts'), 'export const util = 1;\n');
    writeFileSync(join(dir, 'src/big.ts'), `${'// filler line\n'.repeat(4_000)}`);
    writeFileSync(join(dir, 'node_modules/dep/index.js'), 'ignored\n');
    writeFileSync(join(dir, 'image.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 1]));
    symlinkSync(join(outside, 'secret.txt'), join(dir, 'leak.txt'));
    symlinkSync(outside, join(dir, 'linked-dir'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('shows the tree (links marked, build output left out) and the requested files first', async () => {
    const view = await service().view(dir, { requestedPaths: ['src/lib', 'src/parser.ts'], query: 'fix the parser' });
    expect(view.tree).toContain('src/\n');
    expect(view.tree).toContain('leak.txt -> (link, not followed)');
    expect(view.tree).toContain('linked-dir -> (link, not followed)');
    expect(view.tree).not.toContain('node_modules');
    expect(view.files.map((f) => f.path).slice(0, 2)).toEqual(['src/lib/util.ts', 'src/parser.ts']);
    expect(view.files.map((f) => f.path)).toEqual(expect.arrayContaining(['README.md', 'package.json']));
    expect(JSON.stringify(view)).not.toContain('TOP-SECRET');
    expect(view.totalFiles).toBe(6);
  });

  it('never follows a link, even when it is asked for', async () => {
    const view = await service().view(dir, {
      requestedPaths: ['leak.txt', 'linked-dir/secret.txt', '../etc/passwd', 'image.png'],
    });
    expect(view.skipped).toEqual(
      expect.arrayContaining([
        { path: 'leak.txt', reason: 'is a link (not followed)' },
        { path: 'linked-dir/secret.txt', reason: 'not found in the repository' },
        { path: '../etc/passwd', reason: 'not found in the repository' },
        { path: 'image.png', reason: 'binary file' },
      ]),
    );
    expect(service().render(view)).not.toContain('TOP-SECRET');
  });

  it('stays within the token budget, cutting a requested file rather than overflowing', async () => {
    const view = await service().view(dir, { maxTokens: 600, requestedPaths: ['src/big.ts'] });
    const big = view.files.find((f) => f.path === 'src/big.ts');
    expect(big?.truncated).toBe(true);
    expect(view.estimatedTokens).toBeLessThanOrEqual(600);
    expect(estimateTokens(service().render(view))).toBeLessThanOrEqual(650);
  });

  it('confines reads and path resolution to the workspace', async () => {
    await expect(resolveInside(dir, '../x')).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
    await expect(resolveInside(dir, '/etc/passwd')).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
    await expect(resolveInside(dir, 'linked-dir/secret.txt')).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
    await expect(resolveInside(dir, '.git/config')).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
    await expect(readInside(dir, 'leak.txt', 100)).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
    await expect(resolveInside(dir, 'src/new/file.ts')).resolves.toMatch(/src\/new\/file\.ts$/);
    await expect(readInside(dir, 'src/missing.ts', 100)).resolves.toBeNull();
    expect((await readInside(dir, 'README.md', 100))?.content.toString()).toBe('# demo\n');
  });
});
