import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, IsNull, Not, Repository } from 'typeorm';
import { AuditService, SYSTEM_ACTOR, userActor } from '#src/audit/audit.service.js';
import type { AllConfig } from '#src/config/namespaces.js';
import { NotFoundError } from '#src/common/errors.js';
import { UserStateCache } from '#src/users/user-state.cache.js';
import type { SessionState } from '#src/users/user-state.cache.js';
import { UsersService } from '#src/users/users.service.js';
import { InvalidRefreshTokenError, SessionRevokedError, TokenReusedError } from './auth.errors.js';
import { RefreshToken } from './entities/refresh-token.entity.js';
import { UserSession } from './entities/user-session.entity.js';
import { randomToken, sha256 } from './tokens.service.js';

export interface ClientContext {
  ip?: string | null;
  userAgent?: string | null;
}

export interface IssuedSession {
  session: UserSession;
  refreshToken: string;
}

export type RevokeReason =
  'logout' | 'revoked' | 'token_reused' | 'password_changed' | 'password_reset' | 'deactivated';

/**
 * Sessions (one per device) and their rotating refresh tokens. A refresh token is used by a
 * conditional UPDATE (`used_at IS NULL`), so of two concurrent refreshes with the same token only
 * one can win; presenting a token that was already used revokes the whole session (RFC 9700 §4.14).
 */
@Injectable()
export class SessionsService {
  private readonly logger = new Logger(SessionsService.name);
  private readonly refreshTtlMs: number;

  constructor(
    @InjectRepository(UserSession) private readonly sessions: Repository<UserSession>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly users: UsersService,
    private readonly stateCache: UserStateCache,
    private readonly audit: AuditService,
    config: ConfigService<AllConfig, true>,
  ) {
    this.refreshTtlMs = config.get('auth', { infer: true }).refreshTokenTtlSeconds * 1000;
  }

  async create(userId: string, client: ClientContext, method: string): Promise<IssuedSession> {
    return this.dataSource.transaction(async (manager) => {
      const now = new Date();
      const session = await manager.getRepository(UserSession).save(
        manager.getRepository(UserSession).create({
          userId,
          userAgent: client.userAgent?.slice(0, 512) ?? null,
          ip: client.ip?.slice(0, 64) ?? null,
          method,
          lastUsedAt: now,
          expiresAt: new Date(now.getTime() + this.refreshTtlMs),
        }),
      );
      const refreshToken = randomToken();
      await manager.getRepository(RefreshToken).insert({
        sessionId: session.id,
        userId,
        tokenHash: sha256(refreshToken),
        parentId: null,
        expiresAt: session.expiresAt,
      });
      return { session, refreshToken };
    });
  }

  /** The session a refresh token belongs to (used or not), without using it. */
  async sessionIdOfRefreshToken(presented: string): Promise<string | undefined> {
    const known = await this.dataSource.getRepository(RefreshToken).findOneBy({ tokenHash: sha256(presented) });
    return known?.sessionId;
  }

  /** Uses `presented` once and returns the session with a new refresh token. */
  async rotate(presented: string, client: ClientContext): Promise<IssuedSession> {
    const hash = sha256(presented);
    const outcome = await this.dataSource.transaction(async (manager) => {
      // On PostgreSQL, TypeORM answers UPDATE … RETURNING with [rows, affectedCount].
      const [rows] = await manager.query<
        [Array<{ id: string; session_id: string; user_id: string; expires_at: Date }>, number]
      >(
        `UPDATE refresh_tokens SET used_at = now()
          WHERE token_hash = $1 AND used_at IS NULL
          RETURNING id, session_id, user_id, expires_at`,
        [hash],
      );
      const row = rows[0];
      if (!row) return { kind: 'unclaimed' as const };
      if (row.expires_at.getTime() <= Date.now()) return { kind: 'expired' as const };
      const session = await manager.getRepository(UserSession).findOneBy({ id: row.session_id });
      if (!session || session.revokedAt) return { kind: 'revoked' as const };
      const now = new Date();
      const expiresAt = new Date(now.getTime() + this.refreshTtlMs);
      const refreshToken = randomToken();
      await manager.getRepository(RefreshToken).insert({
        sessionId: session.id,
        userId: row.user_id,
        tokenHash: sha256(refreshToken),
        parentId: row.id,
        expiresAt,
      });
      await manager.getRepository(UserSession).update(
        { id: session.id },
        {
          lastUsedAt: now,
          expiresAt,
          ip: client.ip?.slice(0, 64) ?? session.ip,
          userAgent: client.userAgent?.slice(0, 512) ?? session.userAgent,
        },
      );
      // The rotation and its record commit together.
      await this.audit.record(
        {
          actor: userActor(row.user_id),
          action: 'session.refreshed',
          target: { type: 'session', id: session.id },
          ip: client.ip,
          userAgent: client.userAgent,
        },
        manager,
      );
      return {
        kind: 'rotated' as const,
        issued: { session: { ...session, lastUsedAt: now, expiresAt }, refreshToken },
      };
    });
    if (outcome.kind === 'rotated') return outcome.issued;
    if (outcome.kind === 'expired') throw new InvalidRefreshTokenError();
    if (outcome.kind === 'revoked') throw new SessionRevokedError();

    const known = await this.dataSource.getRepository(RefreshToken).findOneBy({ tokenHash: hash });
    if (!known) throw new InvalidRefreshTokenError();
    // A token that was already rotated came back: whoever holds it (the client or a thief) is
    // not to be trusted, so the whole session ends.
    await this.revoke(known.userId, known.sessionId, 'token_reused');
    // Nobody proved who they are (the token was spent): the system ends the session, the account is the subject.
    await this.audit.record({
      actor: SYSTEM_ACTOR,
      action: 'session.revoked',
      target: { type: 'session', id: known.sessionId },
      subjectUserId: known.userId,
      ip: client.ip,
      userAgent: client.userAgent,
      data: { reason: 'token_reused' },
    });
    this.logger.warn({ userId: known.userId, sessionId: known.sessionId }, 'Refresh token reused; session revoked');
    throw new TokenReusedError();
  }

  /**
   * The state the JWT guard checks per request (cached, invalidated on every change), with the
   * user's state generation it was read under.
   */
  async state(userId: string, sessionId: string): Promise<(SessionState & { gen: number }) | undefined> {
    const cached = await this.stateCache.read(userId, sessionId);
    if (cached.state) return { ...cached.state, gen: cached.gen };
    const [user, session] = await Promise.all([
      this.users.findById(userId),
      this.sessions.findOneBy({ id: sessionId, userId }),
    ]);
    if (!user) return undefined;
    const state: SessionState = {
      email: user.email,
      role: user.role,
      emailVerified: user.emailVerified,
      isActive: user.isActive,
      sessionActive: !!session && !session.revokedAt && session.expiresAt.getTime() > Date.now(),
    };
    await this.stateCache.write(userId, sessionId, cached.gen, state);
    return { ...state, gen: cached.gen };
  }

  find(userId: string, sessionId: string): Promise<UserSession | null> {
    return this.sessions.findOneBy({ id: sessionId, userId });
  }

  list(userId: string): Promise<UserSession[]> {
    return this.sessions
      .createQueryBuilder('s')
      .where('s.user_id = :userId AND s.revoked_at IS NULL AND s.expires_at > now()', { userId })
      .orderBy('s.last_used_at', 'DESC')
      .getMany();
  }

  /** Revokes one of the user's sessions; another user's session id is not found. */
  async revokeOwn(userId: string, sessionId: string): Promise<void> {
    const session = await this.sessions.findOneBy({ id: sessionId, userId, revokedAt: IsNull() });
    if (!session) throw new NotFoundError('Session', 'SESSION_NOT_FOUND');
    await this.revoke(userId, sessionId, 'revoked');
  }

  async revoke(userId: string, sessionId: string, reason: RevokeReason): Promise<void> {
    await this.sessions.update(
      { id: sessionId, userId, revokedAt: IsNull() },
      { revokedAt: new Date(), revokedReason: reason },
    );
    await this.stateCache.invalidate(userId);
  }

  /** Revokes every session of the user, or every one but `exceptSessionId`. */
  async revokeAll(userId: string, reason: RevokeReason, exceptSessionId?: string): Promise<number> {
    const result = await this.sessions.update(
      { userId, revokedAt: IsNull(), ...(exceptSessionId ? { id: Not(exceptSessionId) } : {}) },
      { revokedAt: new Date(), revokedReason: reason },
    );
    await this.stateCache.invalidate(userId);
    return result.affected ?? 0;
  }
}
