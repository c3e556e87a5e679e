import { Injectable } from '@nestjs/common';
import { ValidationFailedError } from '#src/common/errors.js';
import { UsersService } from '#src/users/users.service.js';
import { InvalidCredentialsError } from './auth.errors.js';
import { PasswordService } from './password.service.js';
import { SessionsService } from './sessions.service.js';
import { TwoFactorService } from './two-factor/two-factor.service.js';

/** An account without password or 2FA proves itself for deletion by a sign-in this recent. */
const RECENT_SIGN_IN_MS = 10 * 60_000;

@Injectable()
export class AccountDeletionService {
  constructor(
    private readonly users: UsersService,
    private readonly passwords: PasswordService,
    private readonly sessions: SessionsService,
    private readonly twoFactor: TwoFactorService,
  ) {}

  /**
   * Deletes the account after a fresh proof: a current 2FA code (or backup code) or the password.
   * An account with neither (OAuth only) proves itself with a sign-in of the last 10 minutes.
   * Every row the user owns goes with it (ON DELETE CASCADE from users).
   */
  async deleteAccount(userId: string, sessionId: string, proof: { password?: string; code?: string }): Promise<void> {
    const user = await this.users.findWithSecrets({ id: userId });
    if (!user) throw new InvalidCredentialsError();
    if (proof.code) {
      await this.twoFactor.verifyCurrentCode(userId, proof.code);
    } else if (proof.password) {
      if (!(await this.passwords.verify(user.passwordHash, proof.password))) throw new InvalidCredentialsError();
    } else {
      const session = await this.sessions.find(userId, sessionId);
      const recent = !!session && Date.now() - session.createdAt.getTime() < RECENT_SIGN_IN_MS;
      if (user.passwordHash || user.totpEnabled || !recent) {
        throw new ValidationFailedError([{ field: 'password', message: 'give your password or a current code' }]);
      }
    }
    await this.users.delete(userId);
  }
}
