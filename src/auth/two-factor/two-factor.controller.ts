import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Throttle } from '@nestjs/throttler';
import type { AuthUser } from '../auth-user.js';
import { SIGN_IN_THROTTLE } from '../auth-throttles.js';
import { CurrentUser } from '../decorators/current-user.decorator.js';
import {
  BackupCodesView,
  DisableTwoFactorDto,
  TotpCodeDto,
  TwoFactorSetupView,
  TwoFactorStatusView,
} from './two-factor.dto.js';
import { TwoFactorService } from './two-factor.service.js';
import { AccountRoute } from '#src/auth/decorators/api-key-access.decorator.js';

@ApiTags('two-factor')
@ApiBearerAuth('bearer')
@AccountRoute()
@Controller('two-factor')
export class TwoFactorController {
  constructor(private readonly twoFactor: TwoFactorService) {}

  @Get('status')
  @ApiOkResponse({ type: TwoFactorStatusView })
  status(@CurrentUser() user: AuthUser): Promise<TwoFactorStatusView> {
    return this.twoFactor.status(user.id);
  }

  @Post('setup')
  @HttpCode(200)
  @ApiOkResponse({ type: TwoFactorSetupView })
  setup(@CurrentUser() user: AuthUser): Promise<TwoFactorSetupView> {
    return this.twoFactor.setup(user.id);
  }

  @Post('enable')
  @HttpCode(200)
  @Throttle(SIGN_IN_THROTTLE)
  @ApiOkResponse({ type: BackupCodesView })
  enable(@CurrentUser() user: AuthUser, @Body() dto: TotpCodeDto): Promise<BackupCodesView> {
    return this.twoFactor.enable(user.id, dto.code);
  }

  @Post('disable')
  @HttpCode(204)
  @Throttle(SIGN_IN_THROTTLE)
  async disable(@CurrentUser() user: AuthUser, @Body() dto: DisableTwoFactorDto): Promise<void> {
    await this.twoFactor.disable(user.id, dto);
  }

  @Post('backup-codes/regenerate')
  @HttpCode(200)
  @Throttle(SIGN_IN_THROTTLE)
  @ApiOkResponse({ type: BackupCodesView })
  regenerate(@CurrentUser() user: AuthUser, @Body() dto: TotpCodeDto): Promise<BackupCodesView> {
    return this.twoFactor.regenerateBackupCodes(user.id, dto.code);
  }
}
