import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { RepositoryRunner } from '#src/agents/graph/repository.port.js';
import { SandboxModule } from '#src/agents/sandbox/sandbox.module.js';
import { RepositoryResult } from './entities/repository-result.entity.js';
import { Repository } from './entities/repository.entity.js';
import { GitHubClient } from './github.client.js';
import { GitService } from './git.service.js';
import { RepositoriesService } from './repositories.service.js';
import { RepositoryContextService } from './repository-context.service.js';
import { RepositoryResultsService } from './repository-results.service.js';
import { RepositoryRunnerService } from './repository-runner.service.js';

/**
 * Repositories without HTTP: importable by the worker (the run graph's RepositoryRunner prepares
 * checkouts and publishes results through it) and by the HTTP module.
 */
@Module({
  imports: [TypeOrmModule.forFeature([Repository, RepositoryResult]), SandboxModule],
  providers: [
    GitService,
    GitHubClient,
    RepositoriesService,
    RepositoryResultsService,
    RepositoryContextService,
    { provide: RepositoryRunner, useClass: RepositoryRunnerService },
  ],
  exports: [
    GitService,
    GitHubClient,
    RepositoriesService,
    RepositoryResultsService,
    RepositoryContextService,
    RepositoryRunner,
  ],
})
export class RepositoriesCoreModule {}
