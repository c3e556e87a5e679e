import { ApiProblem } from '#src/common/openapi-conventions.js';
import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Query, Req } from '@nestjs/common';
import type { Request } from 'express';
import { AuditService, auditClient, userActor } from '#src/audit/audit.service.js';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { AuthUser } from '../auth-user.js';
import { AccountRoute } from '../decorators/api-key-access.decorator.js';
import { CurrentUser } from '../decorators/current-user.decorator.js';
import { ApiKeysService } from './api-keys.service.js';
import { ApiKeyListQueryDto, ApiKeyPageView, CreatedApiKeyView, CreateApiKeyDto } from './dto/api-key.dto.js';

/** Managing keys is an account action: a key cannot mint, list or revoke keys. */
@ApiTags('api-keys')
@ApiBearerAuth('bearer')
@AccountRoute()
@Controller('api-keys')
export class ApiKeysController {
  constructor(
    private readonly keys: ApiKeysService,
    private readonly audit: AuditService,
  ) {}

  @Post()
  @ApiCreatedResponse({ type: CreatedApiKeyView, description: 'The key is shown only here.' })
  @ApiOperation({
    summary: 'Create an API key (qk_…, shown only in this answer) with scopes, an expiry and a monthly limit',
  })
  @ApiProblem(403, 'API_KEY_NOT_ALLOWED', 'API keys cannot manage API keys; sign in.')
  async create(
    @CurrentUser() user: AuthUser,
    @Body() dto: CreateApiKeyDto,
    @Req() req: Request,
  ): Promise<CreatedApiKeyView> {
    const created = await this.keys.create(user.id, dto);
    await this.audit.record({
      actor: userActor(user.id),
      action: 'api_key.created',
      target: { type: 'api_key', id: created.apiKey.id },
      orgId: created.apiKey.orgId,
      ...auditClient(req),
      data: { name: created.apiKey.name, prefix: created.apiKey.prefix, scopes: created.apiKey.scopes },
    });
    return created;
  }

  @Get()
  @ApiOkResponse({ type: ApiKeyPageView })
  @ApiOperation({
    summary:
      "My API keys (prefix, scopes, last use), a page at a time; ?orgId= the organization's keys, every member's (admins and owners)",
  })
  @ApiProblem(
    403,
    ['API_KEY_NOT_ALLOWED', 'FORBIDDEN'],
    'API keys cannot manage API keys; or my role in the organization is below admin.',
  )
  @ApiProblem(404, 'ORG_NOT_FOUND', 'Not a member of this organization.')
  list(@CurrentUser() user: AuthUser, @Query() query: ApiKeyListQueryDto): Promise<ApiKeyPageView> {
    const { orgId, ...page } = query;
    return orgId ? this.keys.listForOrg(user.id, orgId, page) : this.keys.list(user.id, page);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Revoked in every API process before this answers.' })
  @ApiOperation({
    summary:
      'Revoke an API key: mine, or (admins and owners) one bound to the organization, whoever holds it (refused at once in every API process)',
  })
  @ApiProblem(403, 'API_KEY_NOT_ALLOWED', 'API keys cannot manage API keys; sign in.')
  @ApiProblem(404, 'API_KEY_NOT_FOUND', 'No such API key of yours or of an organization you administer.')
  async revoke(
    @CurrentUser() user: AuthUser,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Req() req: Request,
  ): Promise<void> {
    const key = await this.keys.revoke(user.id, id);
    await this.audit.record({
      actor: userActor(user.id),
      action: 'api_key.revoked',
      target: { type: 'api_key', id },
      orgId: key.orgId,
      subjectUserId: key.userId,
      ...auditClient(req),
      data: { name: key.name, prefix: key.prefix },
    });
  }
}
