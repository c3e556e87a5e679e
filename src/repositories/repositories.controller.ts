import { ApiProblem } from '#src/common/openapi-conventions.js';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { Throttle } from '@nestjs/throttler';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { AuthUser } from '#src/auth/auth-user.js';
import { CurrentUser } from '#src/auth/decorators/current-user.decorator.js';
import { OrgScopedPageQueryDto } from '#src/orgs/dto/org.dto.js';
import { Authorize } from '#src/orgs/authorize.decorator.js';
import { Access, type AccessGrant } from '#src/orgs/resource-access.guard.js';
import { CreateRepositoryDto, UpdateRepositoryDto } from './dto/create-repository.dto.js';
import { RepositoryPageResponse, RepositoryResponse } from './dto/repository.response.js';
import { RepositoriesService } from './repositories.service.js';
import { KeyScope } from '#src/auth/decorators/api-key-access.decorator.js';

@ApiTags('repositories')
@ApiBearerAuth('bearer')
@KeyScope('repositories')
@Controller('repositories')
export class RepositoriesController {
  constructor(private readonly repositories: RepositoriesService) {}

  /** Each create runs `git ls-remote` against a remote host: limited per user. */
  @Post()
  @Throttle({ default: { limit: 30, ttl: 60_000 } })
  @ApiCreatedResponse({
    type: RepositoryResponse,
    description: 'Reachable, branch exists; the token is stored encrypted and never returned.',
  })
  @ApiOperation({
    summary: 'Register a git repository tasks may target (checked reachable; its token is stored encrypted)',
  })
  @ApiProblem(
    400,
    ['VALIDATION_FAILED', 'REPOSITORY_URL_INVALID', 'REPOSITORY_URL_FORBIDDEN'],
    'The URL is not valid or points somewhere not allowed.',
  )
  @ApiProblem(
    422,
    ['REPOSITORY_UNREACHABLE', 'BRANCH_NOT_FOUND', 'REPOSITORY_TOO_LARGE'],
    'The repository cannot be used.',
  )
  @ApiProblem(404, 'ORG_NOT_FOUND', 'orgId names no organization of yours.')
  @ApiProblem(403, 'FORBIDDEN', 'Adding a repository to an organization takes an admin.')
  @Authorize('repository', 'create', { org: 'body.orgId' })
  async create(
    @CurrentUser() user: AuthUser,
    @Body() body: CreateRepositoryDto,
    @Access() access: AccessGrant,
  ): Promise<RepositoryResponse> {
    return RepositoryResponse.of(await this.repositories.create(user.id, access.orgId, body));
  }

  @Get()
  @Authorize('repository', 'read', { org: 'query.orgId' })
  @ApiOkResponse({ type: RepositoryPageResponse })
  @ApiOperation({ summary: "My repositories (or ?orgId= the organization's), a page at a time" })
  async list(
    @CurrentUser() user: AuthUser,
    @Query() page: OrgScopedPageQueryDto,
    @Access() access: AccessGrant,
  ): Promise<RepositoryPageResponse> {
    const result = await this.repositories.list({ userId: user.id, orgId: access.orgId }, page);
    return { items: result.items.map((r) => RepositoryResponse.of(r)), nextCursor: result.nextCursor };
  }

  @Get(':id')
  @Authorize('repository', 'read')
  @ApiOkResponse({ type: RepositoryResponse })
  @ApiOperation({ summary: 'One repository (mine, or of an organization I belong to)' })
  @ApiProblem(404, 'REPOSITORY_NOT_FOUND', 'No such repository visible to you.')
  async get(@Param('id') id: string): Promise<RepositoryResponse> {
    return RepositoryResponse.of(await this.repositories.get(id));
  }

  /** A new branch or token is checked with `git ls-remote`: limited like create. */
  @Patch(':id')
  @Throttle({ default: { limit: 30, ttl: 60_000 } })
  @ApiOkResponse({ type: RepositoryResponse })
  @ApiOperation({ summary: 'Edit a repository (default branch, token, name)' })
  @ApiProblem(404, 'REPOSITORY_NOT_FOUND', 'No such repository visible to you.')
  @ApiProblem(403, 'FORBIDDEN', "An organization's repository is managed by its admins.")
  @ApiProblem(422, ['REPOSITORY_UNREACHABLE', 'BRANCH_NOT_FOUND'], 'The repository cannot be used with these settings.')
  @Authorize('repository', 'update')
  async update(@Param('id') id: string, @Body() body: UpdateRepositoryDto): Promise<RepositoryResponse> {
    return RepositoryResponse.of(await this.repositories.update(id, body));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse()
  @ApiOperation({ summary: 'Delete a repository (its tasks keep their results)' })
  @ApiProblem(404, 'REPOSITORY_NOT_FOUND', 'No such repository visible to you.')
  @ApiProblem(403, 'FORBIDDEN', "An organization's repository is managed by its admins.")
  @Authorize('repository', 'delete')
  async remove(@Param('id') id: string): Promise<void> {
    await this.repositories.remove(id);
  }
}
