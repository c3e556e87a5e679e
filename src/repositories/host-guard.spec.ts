import { pinnedResolve } from './host-guard.js';

describe('pinnedResolve', () => {
  it('pins a host name to the address it checked', async () => {
    const [[key, value]] = await pinnedResolve('http://localhost:8123/acme/widgets.git', true);
    expect(key).toBe('http.curloptResolve');
    expect(value).toMatch(/^localhost:8123:(127\.0\.0\.1|\[::1\])$/);
    expect(await pinnedResolve('https://127.0.0.1/acme/widgets.git', true)).toEqual([]);
    expect(await pinnedResolve('file:///srv/git/widgets.git', false)).toEqual([]);
  });

  it.each([
    'https://localhost/a/b.git',
    'https://127.0.0.1/a/b.git',
    'https://[::1]/a/b.git',
    'https://192.168.1.10/a/b.git',
    'https://[::ffff:10.0.0.1]/a/b.git',
    'https://2130706433/a/b.git',
  ])('refuses %s unless private hosts are allowed', async (url) => {
    await expect(pinnedResolve(url, false)).rejects.toMatchObject({ code: 'REPOSITORY_URL_FORBIDDEN', status: 400 });
  });

  it('reports a host that does not resolve as unreachable', async () => {
    await expect(pinnedResolve('https://no-such-host.invalid/a/b.git', false)).rejects.toMatchObject({
      code: 'REPOSITORY_UNREACHABLE',
    });
  });
});
