import { ApiProblem } from '#src/common/openapi-conventions.js';
import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { Throttle } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { Public } from '#src/common/decorators/public.decorator.js';
import { toUserView } from '#src/users/user.view.js';
import type { AuthUser } from './auth-user.js';
import { cookie, REFRESH_COOKIE } from './auth-cookies.js';
import { AuthCookiesService } from './auth-cookies.service.js';
import { CsrfService } from './csrf.service.js';
import { SessionsService } from './sessions.service.js';
import { TokensService } from './tokens.service.js';
import { CsrfError, InvalidRefreshTokenError } from './auth.errors.js';
import { AuthService } from './auth.service.js';
import type { LoginResult, TokenPair } from './auth.service.js';
import { clientContext } from './client-context.js';
import { CurrentUser } from './decorators/current-user.decorator.js';
import { AccountService } from './account.service.js';
import { MAIL_THROTTLE, SIGN_IN_THROTTLE } from './auth-throttles.js';
import { LoginTwoFactorDto } from './two-factor/two-factor.dto.js';
import { TwoFactorService } from './two-factor/two-factor.service.js';
import {
  ChangePasswordDto,
  EmailDto,
  LoginDto,
  MfaRequiredView,
  RefreshDto,
  RegisterDto,
  ResetPasswordDto,
  TokenDto,
  TokenPairView,
  UserEnvelope,
  CsrfTokenView,
} from './dto/auth.dto.js';
import { AccountRoute } from '#src/auth/decorators/api-key-access.decorator.js';
import { DomainError } from '#src/common/errors.js';

@ApiTags('auth')
@AccountRoute()
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly account: AccountService,
    private readonly twoFactor: TwoFactorService,
    private readonly sessions: SessionsService,
    private readonly tokens: TokensService,
    private readonly csrf: CsrfService,
    private readonly cookies: AuthCookiesService,
  ) {}

  @Public()
  @Post('register')
  @Throttle(SIGN_IN_THROTTLE)
  @ApiOperation({ summary: 'Create an account; a verification mail follows' })
  @ApiProblem(409, 'EMAIL_TAKEN', 'An account with this email already exists.')
  @ApiProblem(400, ['VALIDATION_FAILED', 'PASSWORD_TOO_COMMON'], 'A field is not valid, or the password is too common.')
  @ApiCreatedResponse({ type: UserEnvelope })
  async register(@Body() dto: RegisterDto): Promise<UserEnvelope> {
    const user = await this.auth.register(dto);
    return { user: toUserView(user) };
  }

  @Public()
  @Post('login')
  @HttpCode(200)
  @Throttle(SIGN_IN_THROTTLE)
  @ApiExtraModels(TokenPairView, MfaRequiredView)
  @ApiOkResponse({
    schema: { oneOf: [{ $ref: getSchemaPath(TokenPairView) }, { $ref: getSchemaPath(MfaRequiredView) }] },
  })
  @ApiOperation({
    summary:
      'Sign in with email and password (tokens in the body, or cookies with `cookie: true`; `mfaRequired` when 2FA is on)',
  })
  @ApiProblem(401, 'INVALID_CREDENTIALS', 'The email or password is not correct.')
  @ApiProblem(403, 'ACCOUNT_DISABLED', 'The account is deactivated.')
  async login(
    @Body() dto: LoginDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<LoginResult | TokenPairView> {
    const result = await this.auth.login(dto, clientContext(req));
    if ('mfaRequired' in result || !dto.cookie) return result;
    return this.toCookies(res, result);
  }

  @Public()
  @Post('login/2fa')
  @HttpCode(200)
  @Throttle(SIGN_IN_THROTTLE)
  @ApiOkResponse({ type: TokenPairView })
  @ApiOperation({ summary: 'Finish a 2FA sign-in with a TOTP code or a backup code' })
  @ApiProblem(401, ['INVALID_MFA_TOKEN', 'INVALID_2FA_CODE'], 'The sign-in step expired or the code is wrong.')
  async loginTwoFactor(
    @Body() dto: LoginTwoFactorDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TokenPairView> {
    const client = clientContext(req);
    let pair: TokenPair;
    try {
      pair = await this.twoFactor.completeLogin(dto.mfaToken, dto, client);
    } catch (error) {
      if (error instanceof DomainError && (error.status === 401 || error.status === 429)) {
        await this.auth.recordFailedLogin(null, null, error.code.toLowerCase(), client);
      }
      throw error;
    }
    return dto.cookie ? this.toCookies(res, pair) : pair;
  }

  @Public()
  @Post('refresh')
  @HttpCode(200)
  @ApiOkResponse({ type: TokenPairView })
  @ApiOperation({
    summary:
      'Exchange a refresh token (body, or the refresh cookie + X-CSRF-Token) for a new pair; the old one is spent',
  })
  @ApiProblem(
    401,
    ['INVALID_REFRESH_TOKEN', 'TOKEN_REUSED', 'SESSION_REVOKED'],
    'The refresh token is unknown, expired or was already used (the session then ends).',
  )
  @ApiProblem(403, 'CSRF_TOKEN_INVALID', 'Cookie mode without a valid X-CSRF-Token header.')
  async refresh(
    @Body() dto: RefreshDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TokenPairView> {
    if (dto.refreshToken) return this.auth.refresh(dto.refreshToken, clientContext(req));
    const fromCookie = cookie(req, REFRESH_COOKIE);
    if (!fromCookie) throw new InvalidRefreshTokenError();
    // The CSRF token is the one of the session this refresh token belongs to.
    const sessionId = await this.sessions.sessionIdOfRefreshToken(fromCookie);
    if (!sessionId) throw new InvalidRefreshTokenError();
    if (!this.csrf.satisfied(req, sessionId)) throw new CsrfError();
    return this.toCookies(res, await this.auth.refresh(fromCookie, clientContext(req)));
  }

  @Get('csrf')
  @ApiOperation({
    summary: "This session's CSRF token, for an app that reloads (cookie mode; also set as the csrf_token cookie)",
  })
  @ApiOkResponse({ type: CsrfTokenView })
  csrfToken(@CurrentUser() user: AuthUser, @Res({ passthrough: true }) res: Response): CsrfTokenView {
    const csrfToken = this.csrf.tokenFor(user.sessionId);
    this.cookies.setCsrf(res, csrfToken);
    return { csrfToken };
  }

  @Post('logout')
  @HttpCode(204)
  @ApiBearerAuth('bearer')
  @ApiOperation({ summary: 'Sign out: end this session and clear the auth cookies' })
  async logout(
    @CurrentUser() user: AuthUser,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<void> {
    await this.auth.logout(user.id, user.sessionId, clientContext(req));
    this.cookies.clear(res);
  }

  @Public()
  @Post('verify-email')
  @HttpCode(200)
  @Throttle(MAIL_THROTTLE)
  @ApiOperation({ summary: 'Verify the email address with the token from the mail' })
  @ApiProblem(400, 'INVALID_TOKEN', 'The link is not valid or has expired.')
  @ApiOkResponse({ type: UserEnvelope })
  async verifyEmail(@Body() dto: TokenDto): Promise<UserEnvelope> {
    return { user: toUserView(await this.account.verifyEmail(dto.token)) };
  }

  @Public()
  @Post('resend-verification')
  @HttpCode(202)
  @Throttle(MAIL_THROTTLE)
  @ApiOperation({ summary: 'Send the verification mail again (202 whether or not the address is known)' })
  @ApiAcceptedResponse()
  async resendVerification(@Body() dto: EmailDto): Promise<void> {
    await this.account.resendVerification(dto.email);
  }

  @Public()
  @Post('password/forgot')
  @HttpCode(202)
  @Throttle(MAIL_THROTTLE)
  @ApiOperation({ summary: 'Mail a password-reset link (202 whether or not the address is known)' })
  @ApiAcceptedResponse()
  async forgotPassword(@Body() dto: EmailDto): Promise<void> {
    await this.account.forgotPassword(dto.email);
  }

  @Public()
  @Post('password/reset')
  @HttpCode(204)
  @Throttle(MAIL_THROTTLE)
  @ApiOperation({ summary: 'Set a new password with the token from the reset mail; every session ends' })
  @ApiProblem(
    400,
    ['INVALID_TOKEN', 'PASSWORD_TOO_COMMON', 'VALIDATION_FAILED'],
    'The link is not valid or has expired, or the password is refused.',
  )
  @ApiNoContentResponse()
  async resetPassword(@Body() dto: ResetPasswordDto, @Req() req: Request): Promise<void> {
    await this.account.resetPassword(dto.token, dto.password, clientContext(req));
  }

  @Post('password/change')
  @HttpCode(204)
  @Throttle(SIGN_IN_THROTTLE)
  @ApiBearerAuth('bearer')
  @ApiOperation({ summary: 'Change the password (the current one is required); the other sessions end' })
  @ApiProblem(401, 'INVALID_CREDENTIALS', 'The current password is not correct.')
  @ApiNoContentResponse()
  async changePassword(
    @CurrentUser() user: AuthUser,
    @Body() dto: ChangePasswordDto,
    @Req() req: Request,
  ): Promise<void> {
    await this.account.changePassword(
      user.id,
      user.sessionId,
      dto.currentPassword,
      dto.newPassword,
      clientContext(req),
    );
  }

  /** Cookie mode: the tokens go only into httpOnly cookies; the CSRF token of the session comes back. */
  private toCookies(res: Response, pair: TokenPair): TokenPairView {
    const csrfToken = this.cookies.set(res, pair, this.tokens.verifyAccess(pair.accessToken).sid);
    return { expiresIn: pair.expiresIn, tokenType: pair.tokenType, user: pair.user, csrfToken };
  }
}
