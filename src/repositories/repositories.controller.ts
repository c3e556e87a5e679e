import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { Throttle } from '@nestjs/throttler';
import { ApiBearerAuth, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
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
  async create(@CurrentUser() user: AuthUser, @Body() body: CreateRepositoryDto): Promise<RepositoryResponse> {
    return RepositoryResponse.of(await this.repositories.create(user.id, body));
  }

  @Get()
  @ApiOkResponse({ type: RepositoryPageResponse })
  async list(@CurrentUser() user: AuthUser, @Query() page: PageQueryDto): Promise<RepositoryPageResponse> {
    const result = await this.repositories.list(user.id, page);
    return { items: result.items.map((r) => RepositoryResponse.of(r)), nextCursor: result.nextCursor };
  }

  @Get(':id')
  @ApiOkResponse({ type: RepositoryResponse })
  async get(@CurrentUser() user: AuthUser, @Param('id') id: string): Promise<RepositoryResponse> {
    return RepositoryResponse.of(await this.repositories.get(user.id, id));
  }

  /** A new branch or token is checked with `git ls-remote`: limited like create. */
  @Patch(':id')
  @Throttle({ default: { limit: 30, ttl: 60_000 } })
  @ApiOkResponse({ type: RepositoryResponse })
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
  async remove(@CurrentUser() user: AuthUser, @Param('id') id: string): Promise<void> {
    await this.repositories.remove(user.id, id);
  }
}
