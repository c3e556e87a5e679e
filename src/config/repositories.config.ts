import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { envBool, envInt, envUrl, parseEnv } from './env.js';

export const repositoriesConfig = registerAs('repositories', () => {
  const env = parseEnv({
    ALLOW_LOCAL_REPOSITORIES: envBool(false),
    ALLOW_HTTP_REPOSITORIES: envBool(false),
    ALLOW_PRIVATE_REPOSITORY_HOSTS: envBool(false),
    GIT_AUTHOR_NAME: z.string().max(200).optional().default('Quorum'),
    GIT_AUTHOR_EMAIL: z
      .email({ message: 'must be an email address' })
      .optional()
      .default('quorum@users.noreply.github.com'),
    GITHUB_API_URL: envUrl(['http', 'https']).optional().default('https://api.github.com'),
    GIT_LS_REMOTE_TIMEOUT_MS: envInt(15_000, 500, 300_000),
    GIT_CLONE_TIMEOUT_MS: envInt(120_000, 1_000, 3_600_000),
    GIT_PUSH_TIMEOUT_MS: envInt(60_000, 1_000, 3_600_000),
    GITHUB_TIMEOUT_MS: envInt(15_000, 500, 300_000),
    REPOSITORY_MAX_SIZE_MB: envInt(500, 1, 100_000),
    REPOSITORY_MAX_FILES: envInt(50_000, 10, 10_000_000),
    REPOSITORY_CONTEXT_MAX_TOKENS: envInt(12_000, 500, 1_000_000),
  });
  return {
    allowLocal: env.ALLOW_LOCAL_REPOSITORIES,
    allowHttp: env.ALLOW_HTTP_REPOSITORIES,
    allowPrivateHosts: env.ALLOW_PRIVATE_REPOSITORY_HOSTS,
    author: { name: env.GIT_AUTHOR_NAME, email: env.GIT_AUTHOR_EMAIL },
    githubApiUrl: env.GITHUB_API_URL.replace(/\/$/, ''),
    lsRemoteTimeoutMs: env.GIT_LS_REMOTE_TIMEOUT_MS,
    cloneTimeoutMs: env.GIT_CLONE_TIMEOUT_MS,
    pushTimeoutMs: env.GIT_PUSH_TIMEOUT_MS,
    githubTimeoutMs: env.GITHUB_TIMEOUT_MS,
    maxSizeBytes: env.REPOSITORY_MAX_SIZE_MB * 1024 * 1024,
    maxFiles: env.REPOSITORY_MAX_FILES,
    contextMaxTokens: env.REPOSITORY_CONTEXT_MAX_TOKENS,
  };
});
export type RepositoriesConfig = ReturnType<typeof repositoriesConfig>;
