import { ApiProblem } from '#src/common/openapi-conventions.js';
import { Controller, Delete, Get, HttpCode, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { NotFoundError } from '#src/common/errors.js';
import type { AuthUser } from './auth-user.js';
import { CurrentUser } from './decorators/current-user.decorator.js';
import { SessionListView } from './dto/auth.dto.js';
import { SessionsService } from './sessions.service.js';
import { AccountRoute } from '#src/auth/decorators/api-key-access.decorator.js';
import { Audit, type AuditContext } from '#src/audit/audit-context.decorator.js';
import { AuditService } from '#src/audit/audit.service.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

@ApiTags('auth')
@ApiBearerAuth('bearer')
@AccountRoute()
@Controller('auth/sessions')
export class SessionsController {
  constructor(
    private readonly audit: AuditService,
    private readonly sessions: SessionsService,
  ) {}

  @Get()
  @ApiOkResponse({ type: SessionListView })
  @ApiOperation({ summary: 'My sessions (devices signed in), the current one marked' })
  async list(@CurrentUser() user: AuthUser): Promise<SessionListView> {
    const sessions = await this.sessions.list(user.id);
    return {
      items: sessions.map((s) => ({
        id: s.id,
        userAgent: s.userAgent,
        ip: s.ip,
        createdAt: s.createdAt.toISOString(),
        lastUsedAt: s.lastUsedAt.toISOString(),
        current: s.id === user.sessionId,
      })),
    };
  }

  /** Revokes one of the caller's sessions; any other id (another user's, malformed) is 404. */
  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'End one of my sessions' })
  @ApiProblem(404, 'SESSION_NOT_FOUND', 'No such session of yours.')
  @ApiNoContentResponse()
  async revoke(@CurrentUser() user: AuthUser, @Param('id') id: string, @Audit() ctx: AuditContext): Promise<void> {
    if (!UUID.test(id)) throw new NotFoundError('Session', 'SESSION_NOT_FOUND');
    await this.sessions.revokeOwn(user.id, id);
    await this.audit.record({ ...ctx, action: 'session.revoked', target: { type: 'session', id } });
  }

  @Delete()
  @HttpCode(204)
  @ApiOperation({ summary: 'End every session but this one' })
  @ApiNoContentResponse()
  async revokeOthers(@CurrentUser() user: AuthUser, @Audit() ctx: AuditContext): Promise<void> {
    await this.sessions.revokeAll(user.id, 'revoked', user.sessionId);
    await this.audit.record({ ...ctx, action: 'session.revoked', target: null, data: { allButCurrent: true } });
  }
}
