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
import { PageQueryDto } from '#src/common/pagination.js';
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
  async create(@CurrentUser() user: AuthUser, @Body() body: CreateRepositoryDto): Promise<RepositoryResponse> {
    return RepositoryResponse.of(await this.repositories.create(user.id, body));
  }

  @Get()
  @ApiOkResponse({ type: RepositoryPageResponse })
  @ApiOperation({ summary: 'My repositories, a page at a time' })
  async list(@CurrentUser() user: AuthUser, @Query() page: PageQueryDto): Promise<RepositoryPageResponse> {
    const result = await this.repositories.list(user.id, page);
    return { items: result.items.map((r) => RepositoryResponse.of(r)), nextCursor: result.nextCursor };
  }

  @Get(':id')
  @ApiOkResponse({ type: RepositoryResponse })
  @ApiOperation({ summary: 'One of my repositories' })
  @ApiProblem(404, 'REPOSITORY_NOT_FOUND', 'No such repository of yours.')
  async get(@CurrentUser() user: AuthUser, @Param('id') id: string): Promise<RepositoryResponse> {
    return RepositoryResponse.of(await this.repositories.get(user.id, id));
  }

  /** A new branch or token is checked with `git ls-remote`: limited like create. */
  @Patch(':id')
  @Throttle({ default: { limit: 30, ttl: 60_000 } })
  @ApiOkResponse({ type: RepositoryResponse })
  @ApiOperation({ summary: 'Edit a repository (default branch, token, name)' })
  @ApiProblem(404, 'REPOSITORY_NOT_FOUND', 'No such repository of yours.')
  @ApiProblem(422, ['REPOSITORY_UNREACHABLE', 'BRANCH_NOT_FOUND'], 'The repository cannot be used with these settings.')
  async update(
    @CurrentUser() user: AuthUser,
    @Param('id') id: string,
    @Body() body: UpdateRepositoryDto,
  ): Promise<RepositoryResponse> {
    return RepositoryResponse.of(await this.repositories.update(user.id, id, body));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse()
  @ApiOperation({ summary: 'Delete a repository (its tasks keep their results)' })
  @ApiProblem(404, 'REPOSITORY_NOT_FOUND', 'No such repository of yours.')
  async remove(@CurrentUser() user: AuthUser, @Param('id') id: string): Promise<void> {
    await this.repositories.remove(user.id, id);
  }
}
