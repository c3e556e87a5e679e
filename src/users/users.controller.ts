import { ApiProblem } from '#src/common/openapi-conventions.js';
import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthUser } from '#src/auth/auth-user.js';
import { AccountDeletionService } from '#src/auth/account-deletion.service.js';
import { CurrentUser } from '#src/auth/decorators/current-user.decorator.js';
import { Roles } from '#src/auth/decorators/roles.decorator.js';
import { PageQueryDto } from '#src/common/pagination.js';
import { AdminUpdateUserDto, DeleteMeDto, UpdateMeDto, UserPageView } from './dto/users.dto.js';
import { toUserView, UserView } from './user.view.js';
import { UsersService } from './users.service.js';
import { AccountRoute, AnyApiKey } from '#src/auth/decorators/api-key-access.decorator.js';
import { Audit, type AuditContext } from '#src/audit/audit-context.decorator.js';
import { AuditService } from '#src/audit/audit.service.js';

@ApiTags('users')
@ApiBearerAuth('bearer')
@Controller('users')
export class UsersController {
  constructor(
    private readonly audit: AuditService,
    private readonly users: UsersService,
    private readonly accounts: AccountDeletionService,
  ) {}

  @Get('me')
  @AnyApiKey()
  @ApiOkResponse({ type: UserView })
  @ApiOperation({ summary: 'My profile' })
  me(@CurrentUser() user: AuthUser): Promise<UserView> {
    return this.users.getView(user.id, user.stateGen);
  }

  @Patch('me')
  @ApiOkResponse({ type: UserView })
  @ApiOperation({ summary: 'Edit my profile' })
  @ApiProblem(409, 'EMAIL_TAKEN', 'An account with this email already exists.')
  async updateMe(@CurrentUser() user: AuthUser, @Body() dto: UpdateMeDto): Promise<UserView> {
    return toUserView(await this.users.updateProfile(user.id, dto));
  }

  /**
   * Erases the account and everything it owns; needs the password or a current 2FA code. What the
   * user created in organizations stays there, handed to an owner.
   */
  @Delete('me')
  @AccountRoute()
  @HttpCode(204)
  @ApiOperation({
    summary:
      'Delete my account and everything it owns (the password, or a 2FA code, confirms); tasks, runs, repositories and webhooks I created in organizations are handed to an owner of each',
  })
  @ApiProblem(401, 'INVALID_CREDENTIALS', 'The confirmation is not correct.')
  @ApiProblem(
    409,
    ['LAST_OWNER', 'RUN_ACTIVE'],
    'I am the last owner of an organization (`orgIds`), or one of my runs in an organization is running.',
  )
  @ApiNoContentResponse()
  async deleteMe(@CurrentUser() user: AuthUser, @Body() dto: DeleteMeDto, @Audit() ctx: AuditContext): Promise<void> {
    await this.accounts.deleteAccount(user.id, user.sessionId, dto);
    // The account is gone, its trail is not (append-only): admins still see who erased it, and when.
    await this.audit.record({ ...ctx, action: 'user.deleted', target: { type: 'user', id: user.id } });
  }

  @Get()
  @Roles('admin')
  @ApiOkResponse({ type: UserPageView })
  @ApiOperation({ summary: 'Admin: every user, a page at a time' })
  @ApiProblem(403, 'FORBIDDEN', 'Only admins may do this.')
  async list(@Query() page: PageQueryDto): Promise<UserPageView> {
    const result = await this.users.list(page);
    return { items: result.items.map(toUserView), nextCursor: result.nextCursor };
  }

  @Get(':id')
  @Roles('admin')
  @ApiOkResponse({ type: UserView })
  @ApiOperation({ summary: 'Admin: one user' })
  @ApiProblem(403, 'FORBIDDEN', 'Only admins may do this.')
  @ApiProblem(404, 'USER_NOT_FOUND', 'No such user.')
  async get(@Param('id', new ParseUUIDPipe()) id: string): Promise<UserView> {
    return toUserView(await this.users.getById(id));
  }

  @Patch(':id')
  @Roles('admin')
  @ApiOkResponse({ type: UserView })
  @ApiOperation({ summary: "Admin: change a user's role or deactivate them" })
  @ApiProblem(403, 'FORBIDDEN', 'Only admins may do this.')
  @ApiProblem(404, 'USER_NOT_FOUND', 'No such user.')
  @ApiProblem(409, 'CANNOT_CHANGE_OWN_ACCESS', 'Admins cannot demote or deactivate themselves.')
  async update(
    @CurrentUser() admin: AuthUser,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() dto: AdminUpdateUserDto,
    @Audit() ctx: AuditContext,
  ): Promise<UserView> {
    const user = await this.users.updateAccess(id, dto, admin.id);
    await this.audit.record({
      ...ctx,
      action: 'user.updated_by_admin',
      target: { type: 'user', id },
      subjectUserId: id,
      data: { ...dto },
    });
    return toUserView(user);
  }
}
