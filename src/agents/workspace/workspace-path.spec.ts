import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { checkFilePath, IsWorkspaceFilePath, validateFilePath } from './workspace-path.js';

class FileDto {
  @IsWorkspaceFilePath()
  path!: string;
}

describe('workspace file paths', () => {
  it.each([
    ['a.ts', 'a.ts'],
    ['./src//lib/./x.py', 'src/lib/x.py'],
    ['dir/', 'dir'],
    ['.github/workflows/ci.yml', '.github/workflows/ci.yml'],
  ])('normalises %j to %j', (input, expected) => {
    expect(checkFilePath(input)).toEqual({ ok: true, path: expected });
  });

  it.each([
    '/abs',
    '..',
    'a/../../b',
    'a/..',
    '.',
    './',
    'a\u0000',
    'a\nb',
    'C:\\x',
    '.GIT/config',
    'x'.repeat(256),
    `${'y'.repeat(101)}/a`,
    42,
  ])('refuses %j', (input) => {
    expect(checkFilePath(input).ok).toBe(false);
  });

  it('throws a 400 naming the field', () => {
    expect(() => validateFilePath('../x', 'files[2].path')).toThrow(
      expect.objectContaining({
        status: 400,
        code: 'VALIDATION_FAILED',
        options: { errors: [{ field: 'files[2].path', message: 'must not contain ".." segments' }] },
      }),
    );
  });

  it('works as a class-validator decorator for DTOs', async () => {
    const [error] = await validate(plainToInstance(FileDto, { path: '/etc/passwd' }));
    expect(error.property).toBe('path');
    expect(Object.values(error.constraints ?? {})).toEqual(['path must be relative to the workspace']);
    expect(await validate(plainToInstance(FileDto, { path: 'src/a.ts' }))).toEqual([]);
  });
});
