import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { UsersModule } from '#src/users/users.module.js';
import { AttemptsService } from './attempts.service.js';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { BackupCode } from './entities/backup-code.entity.js';
import { EmailToken } from './entities/email-token.entity.js';
import { OAuthAccount } from './entities/oauth-account.entity.js';
import { RefreshToken } from './entities/refresh-token.entity.js';
import { UserSession } from './entities/user-session.entity.js';
import { AccessGuard } from './guards/access.guard.js';
import { JwtAuthGuard } from './guards/jwt-auth.guard.js';
import { PasswordService } from './password.service.js';
import { SessionsService } from './sessions.service.js';
import { TokensService } from './tokens.service.js';

/**
 * Sign-up, sign-in, sessions and the global guards. Listed in HTTP_MODULES before CommonModule, so
 * its APP_GUARDs (authentication, then roles / verified email) run before the throttler, which
 * then keys limits by user.
 */
@Module({
  imports: [
    UsersModule,
    TypeOrmModule.forFeature([UserSession, RefreshToken, EmailToken, BackupCode, OAuthAccount]),
  ],
  controllers: [AuthController],
  providers: [
    AuthService,
    AttemptsService,
    PasswordService,
    SessionsService,
    TokensService,
    { provide: APP_GUARD, useClass: JwtAuthGuard },
    { provide: APP_GUARD, useClass: AccessGuard },
  ],
  exports: [AuthService, PasswordService, SessionsService, AttemptsService],
})
export class AuthModule {}
