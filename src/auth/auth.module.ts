import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MailModule } from '#src/mail/mail.module.js';
import { UsersModule } from '#src/users/users.module.js';
import { AccountDeletionService } from './account-deletion.service.js';
import { AccountService } from './account.service.js';
import { ApiKey } from './api-keys/api-key.entity.js';
import { ApiKeysController } from './api-keys/api-keys.controller.js';
import { ApiKeysService } from './api-keys/api-keys.service.js';
import { AttemptsService } from './attempts.service.js';
import { AuthCookiesService } from './auth-cookies.service.js';
import { CsrfService } from './csrf.service.js';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { EmailPagesController } from './email-pages.controller.js';
import { EmailTokensService } from './email-tokens.service.js';
import { BackupCode } from './entities/backup-code.entity.js';
import { EmailToken } from './entities/email-token.entity.js';
import { OAuthAccount } from './entities/oauth-account.entity.js';
import { RefreshToken } from './entities/refresh-token.entity.js';
import { UserSession } from './entities/user-session.entity.js';
import { AccessGuard } from './guards/access.guard.js';
import { JwtAuthGuard } from './guards/jwt-auth.guard.js';
import { PasswordService } from './password.service.js';
import { SessionsController } from './sessions.controller.js';
import { SessionsService } from './sessions.service.js';
import { TokensService } from './tokens.service.js';
import { OAuthAccountsController } from './oauth/oauth-accounts.controller.js';
import { OAuthStateStore } from './oauth/oauth-state.store.js';
import { OAuthController } from './oauth/oauth.controller.js';
import { OAuthService } from './oauth/oauth.service.js';
import { TwoFactorController } from './two-factor/two-factor.controller.js';
import { TwoFactorService } from './two-factor/two-factor.service.js';

/**
 * Sign-up, sign-in, sessions and the global guards. Listed in HTTP_MODULES before CommonModule, so
 * its APP_GUARDs (authentication, then roles / verified email) run before the throttler, which
 * then keys limits by user.
 */
@Module({
  imports: [
    UsersModule,
    MailModule,
    TypeOrmModule.forFeature([UserSession, RefreshToken, EmailToken, BackupCode, OAuthAccount, ApiKey]),
  ],
  controllers: [
    AuthController,
    SessionsController,
    TwoFactorController,
    OAuthController,
    OAuthAccountsController,
    ApiKeysController,
    EmailPagesController,
  ],
  providers: [
    AuthService,
    AccountService,
    AccountDeletionService,
    ApiKeysService,
    AttemptsService,
    AuthCookiesService,
    CsrfService,
    EmailTokensService,
    PasswordService,
    SessionsService,
    TokensService,
    TwoFactorService,
    OAuthService,
    OAuthStateStore,
    JwtAuthGuard,
    { provide: APP_GUARD, useExisting: JwtAuthGuard },
    { provide: APP_GUARD, useClass: AccessGuard },
  ],
  exports: [
    JwtAuthGuard,
    AccountDeletionService,
    ApiKeysService,
    AuthService,
    PasswordService,
    SessionsService,
    AttemptsService,
    TwoFactorService,
  ],
})
export class AuthModule {}
