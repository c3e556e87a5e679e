import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBwrap, pythonPrefix } from './bwrap.driver.js';

describe('findBwrap', () => {
  it('finds the installed binary', () => {
    expect(findBwrap()).toMatch(/\/bwrap$/);
  });

  it('fails with one line telling how to install it or to switch drivers', () => {
    expect(() => findBwrap(['/nonexistent/bwrap'])).toThrow(
      'SANDBOX_DRIVER=bwrap but bubblewrap is not installed: run `apt-get install -y bubblewrap` (or set SANDBOX_DRIVER=process, which isolates nothing)',
    );
  });
});

describe('pythonPrefix', () => {
  it('binds nothing for a python under /usr', () => {
    expect(pythonPrefix('/usr/bin/python3')).toBeUndefined();
  });

  it('binds the installation prefix of a python elsewhere, never a top-level directory or /', () => {
    const dir = mkdtempSync(join(tmpdir(), 'quorum-py-'));
    try {
      mkdirSync(join(dir, 'py', 'bin'), { recursive: true });
      writeFileSync(join(dir, 'py', 'bin', 'python3'), '');
      expect(pythonPrefix(join(dir, 'py', 'bin', 'python3'))).toBe(realpathSync(join(dir, 'py')));
      expect(pythonPrefix(join(dir, 'py', 'bin', 'missing'))).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(pythonPrefix('/bin/sh')).toBeUndefined(); // merged /usr: resolves under /usr
    expect(pythonPrefix('/nonexistent/python3')).toBeUndefined();
  });
});
