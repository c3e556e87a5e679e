import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, In, Repository } from 'typeorm';
import { ConflictError } from '#src/common/errors.js';
import { paginate } from '#src/common/pagination.js';
import type { Page, PageQueryDto } from '#src/common/pagination.js';
import type { AllConfig } from '#src/config/namespaces.js';
import { User } from './entities/user.entity.js';
import { toUserView } from './user.view.js';
import type { UserView } from './user.view.js';
import type { UserRole } from './entities/user.entity.js';
import { UserStateCache } from './user-state.cache.js';
import { EmailTakenError, UserNotFoundError } from './users.errors.js';

export interface NewUser {
  email: string;
  passwordHash: string | null;
  name?: string | null;
  avatarUrl?: string | null;
  emailVerified?: boolean;
}

/** Users and their account state. Every change that affects authentication invalidates the guard's cache. */
@Injectable()
export class UsersService {
  private readonly logger = new Logger(UsersService.name);
  private readonly adminEmails: ReadonlySet<string>;

  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly stateCache: UserStateCache,
    config: ConfigService<AllConfig, true>,
  ) {
    this.adminEmails = new Set(config.get('auth', { infer: true }).adminEmails);
  }

  findById(id: string): Promise<User | null> {
    return this.users.findOneBy({ id });
  }

  async getById(id: string): Promise<User> {
    const user = await this.findById(id);
    if (!user) throw new UserNotFoundError();
    return user;
  }

  /** The users with these ids (missing ones are left out). */
  findByIds(ids: string[]): Promise<User[]> {
    return ids.length ? this.users.findBy({ id: In(ids) }) : Promise.resolve([]);
  }

  findByEmail(email: string): Promise<User | null> {
    return this.users.findOneBy({ email });
  }

  /** The user with the password hash and TOTP fields, for the credential checks of auth. */
  findWithSecrets(where: { id: string } | { email: string }): Promise<User | null> {
    return this.users
      .createQueryBuilder('user')
      .addSelect(['user.passwordHash', 'user.totpSecret', 'user.totpLastStep'])
      .where(where)
      .getOne();
  }

  async create(input: NewUser, manager?: EntityManager): Promise<User> {
    const repo = manager ? manager.getRepository(User) : this.users;
    const verified = input.emailVerified ?? false;
    // ON CONFLICT DO NOTHING: a taken email is an expected answer, not a failed query to log.
    const result = await repo
      .createQueryBuilder()
      .insert()
      .into(User)
      .values({
        email: input.email,
        passwordHash: input.passwordHash,
        name: input.name ?? null,
        avatarUrl: input.avatarUrl ?? null,
        emailVerified: verified,
        role: verified && this.isAdminEmail(input.email) ? 'admin' : 'user',
      })
      .orIgnore()
      .returning(['id'])
      .execute();
    const id = (result.raw as Array<{ id: string }>)[0]?.id;
    if (!id) throw new EmailTakenError();
    return repo.findOneByOrFail({ id });
  }

  /**
   * Marks the email verified. An address listed in ADMIN_EMAILS becomes admin only here, once its
   * owner has proven control of it, so registering someone else's admin address grants nothing.
   */
  async markEmailVerified(id: string): Promise<User> {
    const user = await this.getById(id);
    const role: UserRole = this.isAdminEmail(user.email) ? 'admin' : user.role;
    await this.users.update({ id }, { emailVerified: true, role });
    await this.stateCache.invalidate(id);
    return this.getById(id);
  }

  async updateProfile(id: string, changes: { name?: string | null; avatarUrl?: string | null }): Promise<User> {
    await this.users.update({ id }, changes);
    await this.stateCache.invalidate(id);
    return this.getById(id);
  }

  /**
   * The profile as GET /users/me shows it, from the generation-checked cache when it can.
   * `currentGen`: the user's state generation this request's authentication read, if any.
   */
  async getView(id: string, currentGen?: number): Promise<UserView> {
    const cached = await this.stateCache.readUserValue<UserView>(id, 'view', currentGen);
    if (cached.value) return cached.value;
    const view = toUserView(await this.getById(id));
    await this.stateCache.writeUserValue(id, 'view', cached.gen, view);
    return view;
  }

  /** Admin changes (role, active). Deactivation takes effect on the user's next request. */
  async updateAccess(id: string, changes: { role?: UserRole; isActive?: boolean }, actorId?: string): Promise<User> {
    const user = await this.getById(id);
    // An admin cannot demote or lock out themselves (and so leave the system without an admin).
    if (actorId === id && (changes.role === 'user' || changes.isActive === false)) {
      throw new ConflictError('CANNOT_CHANGE_OWN_ACCESS', 'Admins cannot demote or deactivate themselves.');
    }
    if (Object.keys(changes).length > 0) {
      await this.users.update({ id: user.id }, changes);
      await this.stateCache.invalidate(id);
      this.logger.log({ userId: id, changes }, 'User access changed');
    }
    return this.getById(id);
  }

  async setPasswordHash(id: string, passwordHash: string): Promise<void> {
    await this.users.update({ id }, { passwordHash, passwordChangedAt: new Date() });
    await this.stateCache.invalidate(id);
  }

  async setTotp(
    id: string,
    changes: { totpSecret?: string | null; totpEnabled?: boolean; totpLastStep?: string | null },
  ) {
    await this.users.update({ id }, changes);
    await this.stateCache.invalidate(id);
  }

  /**
   * Records `step` as the last accepted TOTP step, only if it is newer than the stored one: the
   * conditional UPDATE makes a code usable once even when two requests present it together.
   */
  async claimTotpStep(id: string, step: number): Promise<boolean> {
    const result = await this.users
      .createQueryBuilder()
      .update(User)
      .set({ totpLastStep: String(step) })
      .where('id = :id AND (totp_last_step IS NULL OR totp_last_step < :step)', { id, step })
      .execute();
    return (result.affected ?? 0) === 1;
  }

  list(page: PageQueryDto): Promise<Page<User>> {
    return paginate(this.users.createQueryBuilder('user'), page);
  }

  /**
   * Deletes the account; every user-owned table cascades from users(id). With `manager` it runs in
   * the caller's transaction, and the caller calls `deleted` once that has committed.
   */
  async delete(id: string, manager?: EntityManager): Promise<void> {
    await (manager ? manager.getRepository(User) : this.users).delete({ id });
    if (!manager) await this.deleted(id);
  }

  /** The account's deletion has committed: every process drops its cached state (its tokens die). */
  async deleted(id: string): Promise<void> {
    await this.stateCache.invalidate(id);
    this.logger.log({ userId: id }, 'Account deleted');
  }

  isAdminEmail(email: string): boolean {
    return this.adminEmails.has(email.toLowerCase());
  }
}
