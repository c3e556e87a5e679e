import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { RepositoryResult } from './entities/repository-result.entity.js';
import { Repository } from './entities/repository.entity.js';
import { GitHubClient } from './github.client.js';
import { GitService } from './git.service.js';
import { RepositoriesService } from './repositories.service.js';
import { RepositoryContextService } from './repository-context.service.js';
import { RepositoryResultsService } from './repository-results.service.js';

/**
 * Repositories without HTTP: importable by the worker (runs prepare workspaces and publish results
 * through it) and by the HTTP module below.
 */
@Module({
  imports: [TypeOrmModule.forFeature([Repository, RepositoryResult])],
  providers: [GitService, GitHubClient, RepositoriesService, RepositoryResultsService, RepositoryContextService],
  exports: [GitService, GitHubClient, RepositoriesService, RepositoryResultsService, RepositoryContextService],
})
export class RepositoriesCoreModule {}
