import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { AuthUser } from '#src/auth/auth-user.js';
import { AccountDeletionService } from '#src/auth/account-deletion.service.js';
import { CurrentUser } from '#src/auth/decorators/current-user.decorator.js';
import { Roles } from '#src/auth/decorators/roles.decorator.js';
import { PageQueryDto } from '#src/common/pagination.js';
import { AdminUpdateUserDto, DeleteMeDto, UpdateMeDto, UserPageView } from './dto/users.dto.js';
import { toUserView, UserView } from './user.view.js';
import { UsersService } from './users.service.js';
import { AccountRoute, AnyApiKey } from '#src/auth/decorators/api-key-access.decorator.js';

@ApiTags('users')
@ApiBearerAuth('bearer')
@Controller('users')
export class UsersController {
  constructor(
    private readonly users: UsersService,
    private readonly accounts: AccountDeletionService,
  ) {}

  @Get('me')
  @AnyApiKey()
  @ApiOkResponse({ type: UserView })
  me(@CurrentUser() user: AuthUser): Promise<UserView> {
    return this.users.getView(user.id, user.stateGen);
  }

  @Patch('me')
  @ApiOkResponse({ type: UserView })
  async updateMe(@CurrentUser() user: AuthUser, @Body() dto: UpdateMeDto): Promise<UserView> {
    return toUserView(await this.users.updateProfile(user.id, dto));
  }

  /** Erases the account and everything it owns; needs the password or a current 2FA code. */
  @Delete('me')
  @AccountRoute()
  @HttpCode(204)
  async deleteMe(@CurrentUser() user: AuthUser, @Body() dto: DeleteMeDto): Promise<void> {
    await this.accounts.deleteAccount(user.id, user.sessionId, dto);
  }

  @Get()
  @Roles('admin')
  @ApiOkResponse({ type: UserPageView })
  async list(@Query() page: PageQueryDto): Promise<UserPageView> {
    const result = await this.users.list(page);
    return { items: result.items.map(toUserView), nextCursor: result.nextCursor };
  }

  @Get(':id')
  @Roles('admin')
  @ApiOkResponse({ type: UserView })
  async get(@Param('id', new ParseUUIDPipe()) id: string): Promise<UserView> {
    return toUserView(await this.users.getById(id));
  }

  @Patch(':id')
  @Roles('admin')
  @ApiOkResponse({ type: UserView })
  async update(
    @CurrentUser() admin: AuthUser,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() dto: AdminUpdateUserDto,
  ): Promise<UserView> {
    return toUserView(await this.users.updateAccess(id, dto, admin.id));
  }
}
