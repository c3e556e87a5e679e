import { ApiProblem } from '#src/common/openapi-conventions.js';
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiExtraModels,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { MfaRequiredView, TokenPairView } from '../dto/auth.dto.js';
import { Throttle } from '@nestjs/throttler';
import { IsBoolean, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import type { Request, Response } from 'express';
import { Public } from '#src/common/decorators/public.decorator.js';
import type { AuthUser } from '../auth-user.js';
import { AuthCookiesService } from '../auth-cookies.service.js';
import { TokensService } from '../tokens.service.js';
import { SIGN_IN_THROTTLE } from '../auth-throttles.js';
import type { LoginResult } from '../auth.service.js';
import { clientContext } from '../client-context.js';
import { CurrentUser } from '../decorators/current-user.decorator.js';
import { OAUTH_PROVIDERS } from '../entities/oauth-account.entity.js';
import type { OAuthProvider } from '../entities/oauth-account.entity.js';
import { OAuthService } from './oauth.service.js';
import { AccountRoute } from '#src/auth/decorators/api-key-access.decorator.js';

export class OAuthExchangeDto {
  @ApiProperty({ description: 'The one-time code from the /oauth/complete redirect (60 s).' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  code: string;

  @ApiPropertyOptional({ description: 'Browser mode, as on POST /auth/login.' })
  @IsOptional()
  @IsBoolean()
  cookie?: boolean;
}

export class LinkedAccountItem {
  @ApiProperty({ enum: OAUTH_PROVIDERS }) provider: OAuthProvider;
  @ApiProperty({ type: String, nullable: true }) email: string | null;
  @ApiProperty() createdAt: string;
}

export class LinkedAccountList {
  @ApiProperty({ type: [LinkedAccountItem] }) items: LinkedAccountItem[];
}

@ApiTags('auth')
@AccountRoute()
@Controller('auth/oauth')
export class OAuthAccountsController {
  constructor(
    private readonly oauth: OAuthService,
    private readonly tokens: TokensService,
    private readonly cookies: AuthCookiesService,
  ) {}

  @Public()
  @Post('exchange')
  @HttpCode(200)
  @Throttle(SIGN_IN_THROTTLE)
  @ApiOperation({
    summary: 'Exchange the one-time code of /oauth/complete for tokens (or cookies with `cookie: true`)',
  })
  @ApiProblem(401, 'INVALID_OAUTH_CODE', 'The code is not valid or has expired; sign in again.')
  @ApiProblem(403, 'ACCOUNT_DISABLED', 'The account is deactivated.')
  @ApiExtraModels(TokenPairView, MfaRequiredView)
  @ApiOkResponse({
    schema: { oneOf: [{ $ref: getSchemaPath(TokenPairView) }, { $ref: getSchemaPath(MfaRequiredView) }] },
  })
  async exchange(
    @Body() dto: OAuthExchangeDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<LoginResult | Omit<LoginResult, 'accessToken' | 'refreshToken'>> {
    const result = await this.oauth.exchange(dto.code, clientContext(req));
    if ('mfaRequired' in result || !dto.cookie) return result;
    const csrfToken = this.cookies.set(res, result, this.tokens.verifyAccess(result.accessToken).sid);
    return { expiresIn: result.expiresIn, tokenType: result.tokenType, user: result.user, csrfToken };
  }

  @Get('accounts')
  @ApiBearerAuth('bearer')
  @ApiOkResponse({ type: LinkedAccountList })
  @ApiOperation({ summary: 'My linked sign-in providers' })
  async list(@CurrentUser() user: AuthUser): Promise<LinkedAccountList> {
    return { items: await this.oauth.list(user.id) };
  }

  @Delete('accounts/:provider')
  @HttpCode(204)
  @ApiBearerAuth('bearer')
  @ApiOperation({ summary: 'Unlink a sign-in provider' })
  @ApiProblem(404, 'OAUTH_ACCOUNT_NOT_FOUND', 'No such linked provider.')
  @ApiProblem(409, 'LAST_SIGN_IN_METHOD', 'The only way to sign in; set a password or link another provider first.')
  @ApiNoContentResponse()
  async unlink(@CurrentUser() user: AuthUser, @Param('provider') provider: string, @Req() req: Request): Promise<void> {
    await this.oauth.unlink(user.id, provider, clientContext(req));
  }
}
