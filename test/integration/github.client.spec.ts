import { ConfigService } from '@nestjs/config';
import { repositoriesConfig } from '../../src/config/repositories.config.js';
import { GitHubClient, gitHubRepositoryOf } from '../../src/repositories/github.client.js';
import { FakeGitHub, startFakeGitHub } from '../support/fake-github.js';

const TOKEN = 'ghp_prToken_abcdefghijklmnop';

describe('GitHubClient (against a local GitHub REST stand-in)', () => {
  let github: FakeGitHub;
  let client: GitHubClient;

  beforeAll(async () => {
    github = await startFakeGitHub(TOKEN);
    const config = new ConfigService({
      repositories: { ...repositoriesConfig(), githubApiUrl: github.url, githubTimeoutMs: 1_000 },
    });
    client = new GitHubClient(config as unknown as ConfigService<never, true>);
  });
  afterAll(async () => {
    await github.close();
  });
  beforeEach(() => {
    github.requests.length = 0;
    github.respond(() => undefined);
  });

  const input = {
    owner: 'acme',
    repo: 'widgets',
    token: TOKEN,
    head: 'quorum/t1',
    base: 'main',
    title: 'Fix it',
    body: 'Plan…',
  };

  it('opens a pull request with the right head, base, title and body', async () => {
    await expect(client.openPullRequest(input)).resolves.toEqual({
      url: 'https://github.test/acme/widgets/pull/1',
      number: 1,
    });
    expect(github.requests).toHaveLength(1);
    const [request] = github.requests;
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/repos/acme/widgets/pulls');
    expect(request.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request.headers.accept).toBe('application/vnd.github+json');
    expect(request.body).toMatchObject({ head: 'quorum/t1', base: 'main', title: 'Fix it', body: 'Plan…' });
  });

  it('returns the open pull request when one already exists for the head', async () => {
    const again = await client.openPullRequest(input);
    expect(again).toEqual({ url: 'https://github.test/acme/widgets/pull/1', number: 1 });
    expect(github.requests.map((r) => r.method)).toEqual(['POST', 'GET']);
  });

  it('maps GitHub failures to clear problems', async () => {
    await expect(client.openPullRequest({ ...input, head: 'quorum/t2', token: 'wrong' })).rejects.toMatchObject({
      code: 'PULL_REQUEST_FAILED',
      status: 422,
    });
    github.respond(() => ({ status: 404, body: { message: 'Not Found' } }));
    await expect(client.openPullRequest({ ...input, head: 'quorum/t3' })).rejects.toMatchObject({ status: 422 });
    github.respond(() => ({ status: 500, body: { message: 'boom' } }));
    await expect(client.openPullRequest({ ...input, head: 'quorum/t4' })).rejects.toMatchObject({
      code: 'PULL_REQUEST_FAILED',
      status: 502,
    });
  });

  it('names the GitHub repository of a URL', () => {
    expect(gitHubRepositoryOf('https://github.com/acme/widgets.git', 'https://api.github.com')).toEqual({
      owner: 'acme',
      repo: 'widgets',
    });
    expect(gitHubRepositoryOf('https://ghe.corp.test/team/app', 'https://ghe.corp.test/api/v3')).toEqual({
      owner: 'team',
      repo: 'app',
    });
    expect(gitHubRepositoryOf('file:///tmp/x/acme/widgets.git', 'https://api.github.com')).toEqual({
      owner: 'acme',
      repo: 'widgets',
    });
    expect(() => gitHubRepositoryOf('https://gitlab.com/acme/widgets', 'https://api.github.com')).toThrow(
      /github\.com/,
    );
  });
});
