import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ValidationFailedError } from '#src/common/errors.js';
import { MemberDepartureService } from '#src/orgs/member-departure.service.js';
import { UsersService } from '#src/users/users.service.js';
import { InvalidCredentialsError } from './auth.errors.js';
import { PasswordService } from './password.service.js';
import { SessionsService } from './sessions.service.js';
import { TwoFactorService } from './two-factor/two-factor.service.js';

/** An account without password or 2FA proves itself for deletion by a sign-in this recent. */
const RECENT_SIGN_IN_MS = 10 * 60_000;

@Injectable()
export class AccountDeletionService {
  private readonly logger = new Logger(AccountDeletionService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly departures: MemberDepartureService,
    private readonly users: UsersService,
    private readonly passwords: PasswordService,
    private readonly sessions: SessionsService,
    private readonly twoFactor: TwoFactorService,
  ) {}

  /**
   * Deletes the account after a fresh proof: a current 2FA code (or backup code) or the password.
   * An account with neither (OAuth only) proves itself with a sign-in of the last 10 minutes.
   * Every row the user owns goes with it (ON DELETE CASCADE from users), except what they created
   * in organizations: that is handed to an owner of each (409 LAST_OWNER when they are its last owner).
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
    const handed = await this.dataSource.transaction(async (manager) => {
      const moved = await this.departures.handOver(manager, userId);
      await this.users.delete(userId, manager);
      return moved;
    });
    await this.users.deleted(userId);
    if (handed.length > 0) this.logger.log({ userId, handed }, 'organization resources handed to an owner');
  }
}
