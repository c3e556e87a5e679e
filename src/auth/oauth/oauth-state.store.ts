import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { REDIS_CLIENT } from '#src/redis/redis.constants.js';
import { RedisFactory } from '#src/redis/redis.factory.js';
import type { OAuthProvider } from '../entities/oauth-account.entity.js';
import { randomToken, sha256 } from '../tokens.service.js';
import { OAuthFlowError } from './oauth.errors.js';

/** Everything a provider round trip must remember between the redirect out and the callback. */
export interface OAuthFlow {
  provider: OAuthProvider;
  /** PKCE code_verifier (RFC 7636); the provider only ever saw its S256 challenge. */
  verifier: string;
  nonce?: string;
  /** Set when a signed-in user links this provider to their account. */
  linkUserId?: string;
}

interface StoredFlow extends OAuthFlow {
  bindingHash: string;
}

const FLOW_TTL_SECONDS = 10 * 60;
export const OAUTH_BINDING_COOKIE = 'oauth_binding';

/**
 * `state` for OAuth round trips (RFC 9700 §4.7): a random handle to a Redis record that is used
 * once (GETDEL) and is bound to the browser that started the flow by a random value in an
 * httpOnly cookie, whose hash the record holds. A callback URL replayed, forged or opened in
 * another browser fails.
 */
@Injectable()
export class OAuthStateStore {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly keys: RedisFactory,
  ) {}

  /** Saves a flow; returns the `state` for the URL and the binding for the cookie. */
  async save(flow: OAuthFlow): Promise<{ state: string; binding: string }> {
    const state = randomToken();
    const binding = randomToken();
    const record: StoredFlow = { ...flow, bindingHash: sha256(binding) };
    await this.redis.set(this.key(state), JSON.stringify(record), 'EX', FLOW_TTL_SECONDS);
    return { state, binding };
  }

  /** Takes the flow for `state` (once) and checks it belongs to this browser and provider. */
  async consume(state: string | undefined, binding: string | undefined, provider: OAuthProvider): Promise<OAuthFlow> {
    if (!state || state.length > 200) throw new OAuthFlowError('invalid_state');
    const raw = await this.redis.getdel(this.key(state));
    if (!raw) throw new OAuthFlowError('invalid_state');
    const { bindingHash, ...flow } = JSON.parse(raw) as StoredFlow;
    if (!binding || sha256(binding) !== bindingHash || flow.provider !== provider) {
      throw new OAuthFlowError('invalid_state');
    }
    return flow;
  }

  get ttlSeconds(): number {
    return FLOW_TTL_SECONDS;
  }

  private key(state: string): string {
    return this.keys.key('auth', 'oauth-state', sha256(state));
  }
}
