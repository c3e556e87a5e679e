import { ConflictError, DomainError } from '#src/common/errors.js';

export class RepositoryUrlInvalidError extends DomainError {
  constructor(message: string) {
    super('REPOSITORY_URL_INVALID', message, 400, { errors: [{ field: 'url', message }] });
  }
}

export class RepositoryUrlForbiddenError extends DomainError {
  constructor(message: string) {
    super('REPOSITORY_URL_FORBIDDEN', message, 400, { errors: [{ field: 'url', message }] });
  }
}

export class RepositoryUnreachableError extends DomainError {
  constructor(detail: string) {
    super('REPOSITORY_UNREACHABLE', `The repository could not be reached: ${detail}`, 422);
  }
}

export class RepositoryAuthFailedError extends DomainError {
  constructor() {
    super(
      'REPOSITORY_AUTH_FAILED',
      'The repository refused the credentials (wrong, expired or missing access token).',
      422,
    );
  }
}

export class BranchNotFoundError extends DomainError {
  constructor(branch: string) {
    super('BRANCH_NOT_FOUND', `The repository has no branch "${branch}".`, 422, { extra: { branch } });
  }
}

export class RepositoryTooLargeError extends DomainError {
  constructor(detail: string) {
    super('REPOSITORY_TOO_LARGE', `The repository is too large for a run workspace: ${detail}`, 422);
  }
}

/** A git command failed in a way the user cannot fix by changing input; the detail stays in the logs. */
export class GitCommandError extends DomainError {
  constructor(
    readonly command: string,
    readonly stderr: string,
  ) {
    super('GIT_FAILED', `git ${command} failed.`, 500);
  }
}

export class RepositoryNotFoundError extends DomainError {
  constructor() {
    super('REPOSITORY_NOT_FOUND', 'Repository not found.', 404);
  }
}

export class NothingToPublishError extends DomainError {
  constructor(message = 'The task has no repository result to publish yet.') {
    super('NO_RESULT', message, 409);
  }
}

export class PullRequestUnsupportedError extends DomainError {
  constructor(message: string) {
    super('PULL_REQUEST_UNSUPPORTED', message, 422);
  }
}

export class PullRequestFailedError extends DomainError {
  constructor(detail: string, status = 502) {
    super('PULL_REQUEST_FAILED', `GitHub did not open the pull request: ${detail}`, status);
  }
}

export class UnsafePathError extends DomainError {
  constructor(path: string) {
    super('UNSAFE_PATH', `The path "${path}" leaves the workspace or is a link.`, 400);
  }
}

export class RepositoryDeletedError extends ConflictError {
  constructor() {
    super('REPOSITORY_DELETED', 'The repository of this task was deleted.');
  }
}

export class PatchConflictError extends ConflictError {
  constructor(baseBranch: string) {
    super('PATCH_CONFLICT', `The result no longer applies to ${baseBranch}; run the task again.`);
  }
}
