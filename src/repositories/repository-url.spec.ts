import { normaliseRepositoryUrl, repositoryNameOf } from './repository-url.js';

const strict = { allowLocal: false, allowHttp: false };
const open = { allowLocal: true, allowHttp: true };

describe('normaliseRepositoryUrl', () => {
  it('accepts https URLs and normalises them', () => {
    expect(normaliseRepositoryUrl(' https://github.com/acme/widgets.git/ ', strict)).toBe(
      'https://github.com/acme/widgets.git',
    );
    expect(normaliseRepositoryUrl('https://GitHub.com:8443/acme/widgets', strict)).toBe(
      'https://github.com:8443/acme/widgets',
    );
  });

  it.each([
    ['not a url', 'REPOSITORY_URL_INVALID'],
    ['ssh://git@github.com/acme/widgets.git', 'REPOSITORY_URL_INVALID'],
    ['git@github.com:acme/widgets.git', 'REPOSITORY_URL_INVALID'],
    ['git://github.com/acme/widgets.git', 'REPOSITORY_URL_INVALID'],
    ['ext::sh -c touch% /tmp/pwned', 'REPOSITORY_URL_INVALID'],
    ['-uhelp', 'REPOSITORY_URL_INVALID'],
    ['https://user:ghp_secret@github.com/acme/widgets.git', 'REPOSITORY_URL_INVALID'],
    ['https://github.com/acme/widgets?x=1', 'REPOSITORY_URL_INVALID'],
    ['https://github.com/', 'REPOSITORY_URL_INVALID'],
    ['http://github.com/acme/widgets', 'REPOSITORY_URL_INVALID'],
    ['/srv/git/widgets.git', 'REPOSITORY_URL_FORBIDDEN'],
    ['file:///srv/git/widgets.git', 'REPOSITORY_URL_FORBIDDEN'],
  ])('refuses %s', (url, code) => {
    expect(() => normaliseRepositoryUrl(url, strict)).toThrow(expect.objectContaining({ code, status: 400 }));
  });

  it('turns local paths into file:// URLs only when allowed', () => {
    expect(normaliseRepositoryUrl('/srv/git/../git/widgets.git/', open)).toBe('file:///srv/git/widgets.git');
    expect(normaliseRepositoryUrl('file:///srv/git/widgets.git', open)).toBe('file:///srv/git/widgets.git');
    expect(() => normaliseRepositoryUrl('file://evil.host/x', open)).toThrow(
      expect.objectContaining({ code: 'REPOSITORY_URL_INVALID' }),
    );
    expect(() => normaliseRepositoryUrl('relative/path', open)).toThrow(
      expect.objectContaining({ code: 'REPOSITORY_URL_INVALID' }),
    );
    expect(normaliseRepositoryUrl('http://127.0.0.1:9/acme/widgets.git', open)).toBe(
      'http://127.0.0.1:9/acme/widgets.git',
    );
  });

  it('names a repository by its last two segments', () => {
    expect(repositoryNameOf('https://github.com/acme/widgets.git')).toBe('acme/widgets');
    expect(repositoryNameOf('file:///srv/git/widgets.git')).toBe('git/widgets');
  });
});
