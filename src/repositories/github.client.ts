import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '#src/config/namespaces.js';
import type { RepositoriesConfig } from '#src/config/repositories.config.js';
import { PullRequestFailedError, PullRequestUnsupportedError } from './repositories.errors.js';

export interface GitHubRepositoryRef {
  owner: string;
  repo: string;
}

export interface OpenPullRequestInput extends GitHubRepositoryRef {
  token: string;
  head: string;
  base: string;
  title: string;
  body: string;
}

export interface PullRequestRef {
  url: string;
  number: number;
}

interface GitHubPull {
  number: number;
  html_url: string;
}

const SEGMENT = /^[A-Za-z0-9_.-]{1,100}$/;

/**
 * `owner/repo` of a repository URL that the configured GitHub (github.com, or the Enterprise host
 * of GITHUB_API_URL) serves. Local repositories (tests, development) are named by their last two
 * path segments. Anything else cannot get a pull request.
 */
export function gitHubRepositoryOf(url: string, apiUrl: string): GitHubRepositoryRef {
  let path: string;
  if (url.startsWith('file://')) path = url.slice('file://'.length);
  else {
    const parsed = new URL(url);
    const apiHost = new URL(apiUrl).hostname;
    const githubHost = apiHost === 'api.github.com' ? 'github.com' : apiHost;
    if (parsed.hostname !== githubHost) {
      throw new PullRequestUnsupportedError(
        `Pull requests are opened on ${githubHost}; this repository is on ${parsed.hostname}.`,
      );
    }
    path = parsed.pathname;
  }
  const parts = path
    .replace(/\/+$/, '')
    .replace(/\.git$/, '')
    .split('/')
    .filter(Boolean);
  const [owner, repo] = parts.slice(-2);
  if (!owner || !repo || !SEGMENT.test(owner) || !SEGMENT.test(repo)) {
    throw new PullRequestUnsupportedError('The repository URL does not name a GitHub owner and repository.');
  }
  return { owner, repo };
}

/** The GitHub REST API (base URL configurable for GitHub Enterprise and tests), through fetch. */
@Injectable()
export class GitHubClient {
  private readonly logger = new Logger(GitHubClient.name);
  private readonly config: RepositoriesConfig;

  constructor(config: ConfigService<AllConfig, true>) {
    this.config = config.get('repositories', { infer: true });
  }

  get apiUrl(): string {
    return this.config.githubApiUrl;
  }

  /**
   * Opens a pull request from `head` into `base`. When GitHub answers that one is already open for
   * that head, that pull request is returned instead (retrying is safe).
   */
  async openPullRequest(input: OpenPullRequestInput): Promise<PullRequestRef> {
    const path = `/repos/${encodeURIComponent(input.owner)}/${encodeURIComponent(input.repo)}/pulls`;
    const response = await this.request('POST', path, input.token, {
      title: input.title,
      body: input.body,
      head: input.head,
      base: input.base,
      maintainer_can_modify: true,
    });
    if (response.status === 201) {
      const pull = (await response.json()) as GitHubPull;
      return { url: pull.html_url, number: pull.number };
    }
    const detail = await this.describe(response);
    if (response.status === 422 && /already exists/i.test(detail)) {
      const existing = await this.findOpenPullRequest(input);
      if (existing) return existing;
    }
    this.logger.warn(`POST ${path} answered ${response.status}: ${detail}`);
    if (response.status === 401 || response.status === 403)
      throw new PullRequestFailedError('GitHub refused the access token', 422);
    if (response.status === 404)
      throw new PullRequestFailedError('GitHub does not know the repository, or the token cannot see it', 422);
    if (response.status === 422) throw new PullRequestFailedError(detail, 422);
    throw new PullRequestFailedError(`GitHub answered ${response.status}`);
  }

  private async findOpenPullRequest(input: OpenPullRequestInput): Promise<PullRequestRef | null> {
    const query = new URLSearchParams({ head: `${input.owner}:${input.head}`, base: input.base, state: 'open' });
    const response = await this.request(
      'GET',
      `/repos/${encodeURIComponent(input.owner)}/${encodeURIComponent(input.repo)}/pulls?${query.toString()}`,
      input.token,
    );
    if (!response.ok) return null;
    const pulls = (await response.json()) as GitHubPull[];
    return pulls[0] ? { url: pulls[0].html_url, number: pulls[0].number } : null;
  }

  private async request(method: string, path: string, token: string, body?: unknown): Promise<Response> {
    try {
      return await fetch(`${this.config.githubApiUrl}${path}`, {
        method,
        headers: {
          Accept: 'application/vnd.github+json',
          Authorization: `Bearer ${token}`,
          'X-GitHub-Api-Version': '2022-11-28',
          'User-Agent': 'quorum',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: 'error',
        signal: AbortSignal.timeout(this.config.githubTimeoutMs),
      });
    } catch (error) {
      const reason = (error as Error).name === 'TimeoutError' ? 'no answer in time' : 'GitHub could not be reached';
      this.logger.warn(`${method} ${path} failed: ${(error as Error).message}`);
      throw new PullRequestFailedError(reason);
    }
  }

  /** GitHub's error message and the first validation error, for the problem detail. */
  private async describe(response: Response): Promise<string> {
    try {
      const body = (await response.json()) as { message?: string; errors?: Array<{ message?: string; code?: string }> };
      const first = body.errors?.[0];
      return (
        [body.message, first?.message ?? first?.code].filter(Boolean).join(': ').slice(0, 300) ||
        `status ${response.status}`
      );
    } catch {
      return `status ${response.status}`;
    }
  }
}
