import { findBwrap } from './bwrap.driver.js';

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
