import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { PageQueryDto } from '#src/common/pagination.js';
import type { AuthUser } from '../auth-user.js';
import { AccountRoute } from '../decorators/api-key-access.decorator.js';
import { CurrentUser } from '../decorators/current-user.decorator.js';
import { ApiKeysService } from './api-keys.service.js';
import { ApiKeyPageView, CreatedApiKeyView, CreateApiKeyDto } from './dto/api-key.dto.js';

/** Managing keys is an account action: a key cannot mint, list or revoke keys. */
@ApiTags('api-keys')
@ApiBearerAuth('bearer')
@AccountRoute()
@Controller('api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @ApiCreatedResponse({ type: CreatedApiKeyView, description: 'The key is shown only here.' })
  create(@CurrentUser() user: AuthUser, @Body() dto: CreateApiKeyDto): Promise<CreatedApiKeyView> {
    return this.keys.create(user.id, dto);
  }

  @Get()
  @ApiOkResponse({ type: ApiKeyPageView })
  list(@CurrentUser() user: AuthUser, @Query() page: PageQueryDto): Promise<ApiKeyPageView> {
    return this.keys.list(user.id, page);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Revoked in every API process before this answers.' })
  async revoke(@CurrentUser() user: AuthUser, @Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    await this.keys.revoke(user.id, id);
  }
}
