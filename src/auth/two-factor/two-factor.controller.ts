import { ApiProblem } from '#src/common/openapi-conventions.js';
import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
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
import { Audit, type AuditContext } from '#src/audit/audit-context.decorator.js';
import { AuditService } from '#src/audit/audit.service.js';

@ApiTags('two-factor')
@ApiBearerAuth('bearer')
@AccountRoute()
@Controller('two-factor')
export class TwoFactorController {
  constructor(
    private readonly audit: AuditService,
    private readonly twoFactor: TwoFactorService,
  ) {}

  @Get('status')
  @ApiOkResponse({ type: TwoFactorStatusView })
  @ApiOperation({ summary: 'Whether 2FA is on, and how many backup codes are left' })
  status(@CurrentUser() user: AuthUser): Promise<TwoFactorStatusView> {
    return this.twoFactor.status(user.id);
  }

  @Post('setup')
  @HttpCode(200)
  @ApiOkResponse({ type: TwoFactorSetupView })
  @ApiOperation({ summary: 'Start 2FA set-up: a new TOTP secret and its otpauth URL / QR code' })
  @ApiProblem(409, 'TWO_FACTOR_ALREADY_ENABLED', 'Two-factor authentication is already on.')
  setup(@CurrentUser() user: AuthUser): Promise<TwoFactorSetupView> {
    return this.twoFactor.setup(user.id);
  }

  @Post('enable')
  @HttpCode(200)
  @Throttle(SIGN_IN_THROTTLE)
  @ApiOkResponse({ type: BackupCodesView })
  @ApiOperation({ summary: 'Turn 2FA on with a current code; answers the backup codes (shown once)' })
  @ApiProblem(401, 'INVALID_2FA_CODE', 'The code is not valid.')
  @ApiProblem(
    409,
    ['TWO_FACTOR_ALREADY_ENABLED', 'TWO_FACTOR_NOT_SET_UP'],
    '2FA is already on, or set-up was not started.',
  )
  async enable(
    @CurrentUser() user: AuthUser,
    @Body() dto: TotpCodeDto,
    @Audit() ctx: AuditContext,
  ): Promise<BackupCodesView> {
    const codes = await this.twoFactor.enable(user.id, dto.code);
    await this.audit.record({ ...ctx, action: 'two_factor.enabled', target: { type: 'user', id: user.id } });
    return codes;
  }

  @Post('disable')
  @HttpCode(204)
  @Throttle(SIGN_IN_THROTTLE)
  @ApiOperation({ summary: 'Turn 2FA off (a current code or the password)' })
  @ApiProblem(401, ['INVALID_2FA_CODE', 'INVALID_CREDENTIALS'], 'The code or the password is not correct.')
  @ApiProblem(409, 'TWO_FACTOR_NOT_ENABLED', 'Two-factor authentication is not on.')
  @ApiNoContentResponse()
  async disable(
    @CurrentUser() user: AuthUser,
    @Body() dto: DisableTwoFactorDto,
    @Audit() ctx: AuditContext,
  ): Promise<void> {
    await this.twoFactor.disable(user.id, dto);
    await this.audit.record({ ...ctx, action: 'two_factor.disabled', target: { type: 'user', id: user.id } });
  }

  @Post('backup-codes/regenerate')
  @HttpCode(200)
  @Throttle(SIGN_IN_THROTTLE)
  @ApiOkResponse({ type: BackupCodesView })
  @ApiOperation({ summary: 'Replace the backup codes (a current code required); the old ones stop working' })
  @ApiProblem(401, 'INVALID_2FA_CODE', 'The code is not valid.')
  @ApiProblem(409, 'TWO_FACTOR_NOT_ENABLED', 'Two-factor authentication is not on.')
  async regenerate(
    @CurrentUser() user: AuthUser,
    @Body() dto: TotpCodeDto,
    @Audit() ctx: AuditContext,
  ): Promise<BackupCodesView> {
    const codes = await this.twoFactor.regenerateBackupCodes(user.id, dto.code);
    await this.audit.record({
      ...ctx,
      action: 'two_factor.backup_codes_regenerated',
      target: { type: 'user', id: user.id },
    });
    return codes;
  }
}
