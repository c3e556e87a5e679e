import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository as TypeOrmRepository } from 'typeorm';
import { EncryptionService } from '#src/common/crypto/encryption.service.js';
import { Page, PageQueryDto, paginate } from '#src/common/pagination.js';
import type { AllConfig } from '#src/config/namespaces.js';
import type { RepositoriesConfig } from '#src/config/repositories.config.js';
import { ownership } from '#src/orgs/access-policy.js';
import { ResourceLocators } from '#src/orgs/resource-locators.js';
import { CreateRepositoryDto, UpdateRepositoryDto } from './dto/create-repository.dto.js';
import { Repository } from './entities/repository.entity.js';
import { GitService, isValidBranchName } from './git.service.js';
import { BranchNotFoundError, RepositoryNotFoundError } from './repositories.errors.js';
import { normaliseRepositoryUrl, repositoryNameOf } from './repository-url.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface PreparedWorkspace {
  repositoryId: string;
  url: string;
  /** The branch cloned (the task's `config.branch` or the repository's default branch). */
  branch: string;
  /** The commit the workspace starts from; the result's patch and diff are taken against it. */
  baseSha: string;
  sizeBytes: number;
  files: number;
  setupCommand: string | null;
  testCommand: string | null;
}

/** A repository with its token decrypted, for the services of this module only. */
export interface RepositoryAccess {
  repository: Repository;
  token: string | undefined;
}

/**
 * Repository records (ownership, validation, reachability on create, the encrypted token) and the
 * workspace preparation a repository task's run starts with.
 */
@Injectable()
export class RepositoriesService {
  private readonly logger = new Logger(RepositoriesService.name);
  private readonly config: RepositoriesConfig;

  constructor(
    @InjectRepository(Repository) private readonly repositories: TypeOrmRepository<Repository>,
    private readonly git: GitService,
    private readonly encryption: EncryptionService,
    config: ConfigService<AllConfig, true>,
    locators: ResourceLocators,
  ) {
    this.config = config.get('repositories', { infer: true });
    locators.register('repository', {
      locate: (id) =>
        this.repositories.findOne({ select: { userId: true, orgId: true }, where: { id } }).then(ownership),
      notFound: () => new RepositoryNotFoundError(),
    });
  }

  /**
   * Validates the URL, checks with `git ls-remote` (and the token) that the repository answers
   * and the branch exists, then stores the record with the token encrypted.
   */
  async create(userId: string, orgId: string | null, input: CreateRepositoryDto): Promise<Repository> {
    const url = normaliseRepositoryUrl(input.url, this.config);
    const token = input.accessToken || undefined;
    const defaultBranch = await this.git.resolveBranch(url, input.defaultBranch, token);
    const id = randomUUID();
    const repository = this.repositories.create({
      id,
      userId,
      orgId,
      url,
      name: repositoryNameOf(url),
      defaultBranch,
      accessTokenEncrypted: token ? this.encryption.encrypt(token, tokenContext(id)) : null,
      setupCommand: input.setupCommand ?? null,
      testCommand: input.testCommand ?? null,
    });
    const saved = await this.repositories.save(repository);
    this.logger.log(
      `repository ${id} added (${saved.name}, branch ${defaultBranch}, token ${token ? 'stored' : 'none'})`,
    );
    return saved;
  }

  /** The organization's repositories, or (orgId null) the user's own. */
  list(scope: { userId: string; orgId: string | null }, page: PageQueryDto): Promise<Page<Repository>> {
    const query = this.repositories.createQueryBuilder('repository');
    if (scope.orgId) query.where('repository.orgId = :orgId', { orgId: scope.orgId });
    else query.where('repository.userId = :userId AND repository.orgId IS NULL', { userId: scope.userId });
    return paginate(query, page);
  }

  /**
   * The repository (who may see it is decided before, by the route's @Authorize); a deleted one or
   * a malformed id is 404.
   */
  async get(id: string): Promise<Repository> {
    const repository = UUID.test(id) ? await this.repositories.findOneBy({ id }) : null;
    if (!repository) throw new RepositoryNotFoundError();
    return repository;
  }

  /**
   * Changes the default branch (checked with `git ls-remote`, with the new token when one is
   * given), the token, or the commands (`null` clears one: detected again). Nothing is stored
   * unless every change holds.
   */
  async update(id: string, input: UpdateRepositoryDto): Promise<Repository> {
    const repository = await this.get(id);
    const changes: Partial<Repository> = {};
    const token =
      input.accessToken ??
      (repository.accessTokenEncrypted
        ? this.encryption.decrypt(repository.accessTokenEncrypted, tokenContext(repository.id))
        : undefined);
    if (input.defaultBranch !== undefined || input.accessToken !== undefined) {
      // A new branch or token must work before it replaces the one that did.
      changes.defaultBranch = await this.git.resolveBranch(
        repository.url,
        input.defaultBranch ?? repository.defaultBranch,
        token,
      );
    }
    if (input.accessToken !== undefined)
      changes.accessTokenEncrypted = this.encryption.encrypt(input.accessToken, tokenContext(repository.id));
    if (input.setupCommand !== undefined) changes.setupCommand = input.setupCommand;
    if (input.testCommand !== undefined) changes.testCommand = input.testCommand;
    if (Object.keys(changes).length === 0) return repository;
    await this.repositories.update({ id: repository.id }, changes);
    this.logger.log(`repository ${id} updated (${Object.keys(changes).join(', ')})`);
    return this.get(id);
  }

  async remove(id: string): Promise<void> {
    const repository = await this.get(id);
    await this.repositories.delete({ id: repository.id });
    this.logger.log(`repository ${id} deleted`);
  }

  /**
   * Checks that a repository (and the branch, when given) can be used by a task of this owner: an
   * organization's task takes a repository of the same organization, a personal task one of the
   * user's own. Any other is as unknown as a missing one.
   */
  async assertUsable(
    owner: { userId: string; orgId: string | null },
    repositoryId: string,
    branch?: string,
  ): Promise<Repository> {
    const repository = await this.get(repositoryId);
    const usable = owner.orgId
      ? repository.orgId === owner.orgId
      : !repository.orgId && repository.userId === owner.userId;
    if (!usable) throw new RepositoryNotFoundError();
    if (branch !== undefined && !isValidBranchName(branch)) throw new BranchNotFoundError(branch);
    return repository;
  }

  /** For this module's services: the record with its token in clear. */
  async access(id: string): Promise<RepositoryAccess> {
    const repository = await this.get(id);
    return {
      repository,
      token: repository.accessTokenEncrypted
        ? this.encryption.decrypt(repository.accessTokenEncrypted, tokenContext(repository.id))
        : undefined,
    };
  }

  /**
   * Clones the task's branch (default: the repository's default branch) shallowly into `dir`, the
   * run's workspace (which must not exist yet or be empty). Its git directory is kept beside it,
   * outside the workspace (see GitService). Fails with REPOSITORY_NOT_FOUND when the repository
   * was deleted, BRANCH_NOT_FOUND, REPOSITORY_AUTH_FAILED, REPOSITORY_UNREACHABLE or
   * REPOSITORY_TOO_LARGE.
   */
  async prepareWorkspace(
    repositoryId: string,
    branch: string | undefined,
    dir: string,
    signal?: AbortSignal,
  ): Promise<PreparedWorkspace> {
    const { repository, token } = await this.access(repositoryId);
    const wanted = branch ?? repository.defaultBranch;
    if (!isValidBranchName(wanted)) throw new BranchNotFoundError(wanted);
    const clone = await this.git.shallowClone(repository.url, wanted, dir, token, undefined, signal);
    return {
      repositoryId: repository.id,
      url: repository.url,
      branch: clone.branch,
      baseSha: clone.headSha,
      sizeBytes: clone.sizeBytes,
      files: clone.files,
      setupCommand: repository.setupCommand,
      testCommand: repository.testCommand,
    };
  }

  /**
   * Removes what `prepareWorkspace` put beside the workspace (its git directory). The run removes
   * the workspace itself through WorkspaceService; a kept (failed) run's git directory goes with
   * the workspace sweep, which removes every stale entry of the workspaces root.
   */
  async releaseWorkspace(dir: string): Promise<void> {
    await this.git.removeClone(dir, false);
  }

  /** Whether the repository record still exists (it may be deleted while a run works on it). */
  async exists(repositoryId: string): Promise<boolean> {
    return UUID.test(repositoryId) && (await this.repositories.existsBy({ id: repositoryId }));
  }
}

export const tokenContext = (repositoryId: string) => `repository:${repositoryId}:token`;
