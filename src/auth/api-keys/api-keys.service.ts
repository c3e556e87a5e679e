import { randomBytes } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LRUCache } from 'lru-cache';
import { IsNull, Repository } from 'typeorm';
import { NotFoundError, ValidationFailedError } from '#src/common/errors.js';
import { paginate, Page, PageQueryDto } from '#src/common/pagination.js';
import { fromMicroCents, toMicroCents } from '#src/metrics/money.js';
import { UserStateCache } from '#src/users/user-state.cache.js';
import type { SessionState } from '#src/users/user-state.cache.js';
import { UsersService } from '#src/users/users.service.js';
import { MembershipsService } from '#src/orgs/memberships.service.js';
import { roleAtLeast } from '#src/orgs/org-roles.js';
import { OrgNotFoundError } from '#src/orgs/orgs.errors.js';
import { OrgRoleRequiredError } from '#src/orgs/resource-access.guard.js';
import type { AuthUser } from '../auth-user.js';
import { AccountDisabledError } from '../auth.errors.js';
import { sha256 } from '../tokens.service.js';
import { ApiKey } from './api-key.entity.js';
import { API_KEY_PATTERN, API_KEY_PREFIX_LENGTH } from './api-key-scopes.js';
import type { ApiKeyScope } from './api-key-scopes.js';
import { ApiKeyExpiredError, ApiKeyRevokedError, InvalidApiKeyError } from './api-keys.errors.js';
import type { ApiKeyView, CreatedApiKeyView } from './dto/api-key.dto.js';

/** What never changes about a key once it exists: safe to keep in memory for the process's life. */
interface KeyIdentity {
  id: string;
  userId: string;
  orgId: string | null;
  scopes: readonly ApiKeyScope[];
  expiresAtMs: number | null;
}

export interface NewApiKey {
  name: string;
  scopes: ApiKeyScope[];
  expiresAt?: string;
  orgId?: string | null;
  monthlyLimitUsd?: number | string | null;
}

/** lastUsedAt is written at most this often per key and process: a key is used on every request. */
const TOUCH_INTERVAL_MS = 60_000;
/** Hashes no key has: a random 256-bit key cannot be created later with one of them. */
const UNKNOWN_TTL_MS = 60_000;

/**
 * API keys: creation (the secret shown once, its SHA-256 stored), listing, revocation, and the
 * check the authentication guard makes on every request that carries one.
 *
 * The check costs what a session check costs. The hash → key identity (user, scopes, organization,
 * expiry) never changes, so each process keeps it; whether the key is revoked and whether its user
 * may still sign in is the same per-user state the JWT guard reads (`UserStateCache`, one Redis
 * round trip), under a generation that revocation bumps after it commits — so a revoked key stops
 * working in every API process at once, exactly as a revoked session does.
 */
@Injectable()
export class ApiKeysService {
  private readonly logger = new Logger(ApiKeysService.name);
  private readonly identities = new LRUCache<string, KeyIdentity | false>({ max: 10_000 });
  private readonly lookups = new Map<string, Promise<KeyIdentity | false>>();
  private readonly touched = new LRUCache<string, number>({ max: 10_000 });

  constructor(
    @InjectRepository(ApiKey) private readonly keys: Repository<ApiKey>,
    private readonly users: UsersService,
    private readonly stateCache: UserStateCache,
    private readonly memberships: MembershipsService,
  ) {}

  async create(userId: string, input: NewApiKey): Promise<CreatedApiKeyView> {
    const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      throw new ValidationFailedError([{ field: 'expiresAt', message: 'must be in the future' }]);
    }
    // Binding a key to an organization is managing the organization's keys: its admins only.
    if (input.orgId) await this.assertOrgAdmin(input.orgId, userId);
    const key = `qk_${randomBytes(32).toString('base64url')}`;
    const limit = input.monthlyLimitUsd;
    const saved = await this.keys.save(
      this.keys.create({
        userId,
        orgId: input.orgId ?? null,
        name: input.name,
        prefix: key.slice(0, API_KEY_PREFIX_LENGTH),
        keyHash: sha256(key),
        scopes: [...input.scopes].sort(),
        monthlyLimitUsd: limit === undefined || limit === null ? null : fromMicroCents(toMicroCents(String(limit))),
        expiresAt,
        lastUsedAt: null,
        revokedAt: null,
      }),
    );
    return { apiKey: toApiKeyView(saved), key };
  }

  async list(userId: string, page: PageQueryDto): Promise<Page<ApiKeyView>> {
    const query = this.keys.createQueryBuilder('k').where('k.userId = :userId AND k.revokedAt IS NULL', { userId });
    const result = await paginate(query, page);
    return { items: result.items.map(toApiKeyView), nextCursor: result.nextCursor };
  }

  /**
   * The organization's keys, every member's: managing them is its admins' and owners' (404 to
   * non-members, 403 below admin), as API.md's roles say.
   */
  async listForOrg(userId: string, orgId: string, page: PageQueryDto): Promise<Page<ApiKeyView>> {
    await this.assertOrgAdmin(orgId, userId);
    const query = this.keys.createQueryBuilder('k').where('k.orgId = :orgId AND k.revokedAt IS NULL', { orgId });
    const result = await paginate(query, page);
    return { items: result.items.map(toApiKeyView), nextCursor: result.nextCursor };
  }

  /**
   * Revokes a key: one of the user's own, or (an admin or owner of its organization) one bound to
   * the organization, whoever holds it. Any other key does not exist for the user. Every API
   * process refuses it from the moment this returns.
   */
  async revoke(userId: string, id: string): Promise<ApiKey> {
    const key = await this.keys.findOneBy({ id, revokedAt: IsNull() });
    if (!key || !(await this.mayManage(userId, key))) throw new NotFoundError('API key', 'API_KEY_NOT_FOUND');
    await this.keys.update({ id, revokedAt: IsNull() }, { revokedAt: new Date() });
    await this.stateCache.invalidate(key.userId);
    return key;
  }

  private async mayManage(userId: string, key: ApiKey): Promise<boolean> {
    if (key.userId === userId) return true;
    if (!key.orgId) return false;
    const role = await this.memberships.roleOf(key.orgId, userId);
    return role !== null && roleAtLeast(role, 'admin');
  }

  private async assertOrgAdmin(orgId: string, userId: string): Promise<void> {
    const role = await this.memberships.roleOf(orgId, userId);
    if (!role) throw new OrgNotFoundError();
    if (!roleAtLeast(role, 'admin')) throw new OrgRoleRequiredError();
  }

  /** The key's monthly limit and owner, for budgets; null when it does not exist. */
  findById(id: string): Promise<ApiKey | null> {
    return this.keys.findOneBy({ id });
  }

  /** The user a `qk_…` bearer token stands for, or a 401/403. */
  async authenticate(token: string): Promise<AuthUser> {
    if (!API_KEY_PATTERN.test(token)) throw new InvalidApiKeyError();
    const hash = sha256(token);
    // A known key (every request but a process's first with it) goes on without a promise to wait
    // for: the guard reaches its one Redis read in the same turn, as a JWT request does.
    const identity = this.identities.get(hash) ?? (await this.identity(hash));
    if (!identity) throw new InvalidApiKeyError();
    if (identity.expiresAtMs !== null && identity.expiresAtMs <= Date.now()) throw new ApiKeyExpiredError();
    const state = await this.state(identity);
    if (!state) throw new InvalidApiKeyError();
    if (!state.sessionActive) throw new ApiKeyRevokedError();
    if (!state.isActive) throw new AccountDisabledError();
    this.touch(identity.id);
    return {
      id: identity.userId,
      email: state.email,
      role: state.role,
      emailVerified: state.emailVerified,
      sessionId: identity.id,
      stateGen: state.gen,
      apiKey: { id: identity.id, scopes: identity.scopes, orgId: identity.orgId },
    };
  }

  private identity(hash: string): Promise<KeyIdentity | false> {
    const known = this.identities.get(hash);
    if (known !== undefined) return Promise.resolve(known);
    let lookup = this.lookups.get(hash);
    if (!lookup) {
      lookup = this.loadIdentity(hash).finally(() => this.lookups.delete(hash));
      this.lookups.set(hash, lookup);
    }
    return lookup;
  }

  private async loadIdentity(hash: string): Promise<KeyIdentity | false> {
    const row = await this.keys.findOne({
      where: { keyHash: hash },
      select: { id: true, userId: true, orgId: true, scopes: true, expiresAt: true },
    });
    if (!row) {
      this.identities.set(hash, false, { ttl: UNKNOWN_TTL_MS });
      return false;
    }
    const identity: KeyIdentity = {
      id: row.id,
      userId: row.userId,
      orgId: row.orgId,
      scopes: Object.freeze([...row.scopes]),
      expiresAtMs: row.expiresAt?.getTime() ?? null,
    };
    this.identities.set(hash, identity);
    return identity;
  }

  /** Key revoked? user active? — cached and invalidated exactly like a session's state. */
  private async state(identity: KeyIdentity): Promise<(SessionState & { gen: number }) | undefined> {
    const slot = `key:${identity.id}`;
    const cached = await this.stateCache.read(identity.userId, slot);
    if (cached.state) return { ...cached.state, gen: cached.gen };
    const [user, key] = await Promise.all([
      this.users.findById(identity.userId),
      this.keys.findOne({ where: { id: identity.id }, select: { id: true, revokedAt: true } }),
    ]);
    if (!user || !key) return undefined;
    const state: SessionState = {
      email: user.email,
      role: user.role,
      emailVerified: user.emailVerified,
      isActive: user.isActive,
      sessionActive: !key.revokedAt,
    };
    await this.stateCache.write(identity.userId, slot, cached.gen, state);
    return { ...state, gen: cached.gen };
  }

  private touch(id: string): void {
    const now = Date.now();
    const last = this.touched.get(id);
    if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return;
    this.touched.set(id, now);
    void this.keys.update({ id }, { lastUsedAt: new Date(now) }).catch((error: unknown) => {
      this.touched.delete(id);
      this.logger.warn({ keyId: id, err: error }, 'Could not record the API key’s last use');
    });
  }
}

export function toApiKeyView(key: ApiKey): ApiKeyView {
  return {
    id: key.id,
    userId: key.userId,
    name: key.name,
    prefix: key.prefix,
    scopes: key.scopes,
    expiresAt: key.expiresAt?.toISOString() ?? null,
    orgId: key.orgId,
    monthlyLimitUsd: key.monthlyLimitUsd,
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    createdAt: key.createdAt.toISOString(),
  };
}
