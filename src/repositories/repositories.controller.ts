import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { Throttle } from '@nestjs/throttler';
import { ApiBearerAuth, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
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
  async get(@Param('id') id: string): Promise<RepositoryResponse> {
    return RepositoryResponse.of(await this.repositories.get(id));
  }

  /** A new branch or token is checked with `git ls-remote`: limited like create. */
  @Patch(':id')
  @Throttle({ default: { limit: 30, ttl: 60_000 } })
  @ApiOkResponse({ type: RepositoryResponse })
  @Authorize('repository', 'update')
  async update(@Param('id') id: string, @Body() body: UpdateRepositoryDto): Promise<RepositoryResponse> {
    return RepositoryResponse.of(await this.repositories.update(id, body));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse()
  @Authorize('repository', 'delete')
  async remove(@Param('id') id: string): Promise<void> {
    await this.repositories.remove(id);
  }
}
