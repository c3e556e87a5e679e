import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import { RouteMetadataCache } from './route-metadata.js';

/** @nestjs/throttler's metadata key of @SkipThrottle() (not exported), followed by the throttler's name. */
const THROTTLER_SKIP = 'THROTTLER:SKIP';

/** @nestjs/throttler's guard, limiting per API key, else per signed-in user, else per client IP. */
@Injectable()
export class AppThrottler extends ThrottlerGuard {
  private skipAll?: RouteMetadataCache<boolean>;

  protected override getTracker(req: Record<string, unknown>): Promise<string> {
    const user = req.user as { id?: string; apiKey?: { id: string } } | undefined;
    if (user?.apiKey) return Promise.resolve(`key:${user.apiKey.id}`);
    if (user?.id) return Promise.resolve(`user:${user.id}`);
    return Promise.resolve(`ip:${typeof req.ip === 'string' ? req.ip : 'unknown'}`);
  }

  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    return Promise.resolve(this.skipsAll(context));
  }

  /**
   * Whether no throttler applies to this request: rate limiting is off (RATE_LIMIT_ENABLED=false),
   * or the route is @SkipThrottle() for every throttler (read once per route). Answered
   * synchronously, where `canActivate` would take an async pass and a metadata read per throttler.
   */
  skipsAll(context: ExecutionContext): boolean {
    if (!Array.isArray(this.options) && this.options.skipIf?.(context) === true) return true;
    // The throttlers are known from onModuleInit on, before any request.
    this.skipAll ??= new RouteMetadataCache(
      (targets) =>
        this.throttlers.length > 0 &&
        this.throttlers.every(({ name }) =>
          this.reflector.getAllAndOverride<boolean>(`${THROTTLER_SKIP}${name}`, targets),
        ),
    );
    return this.skipAll.get(context);
  }
}

/**
 * The global rate-limit guard: skips synchronously when no throttler applies (health probes,
 * rate limiting off), else runs the throttler. A guard that returns a promise costs Nest's guard
 * chain an await on every request, needed only when a limit is counted.
 */
@Injectable()
export class AppThrottlerGuard implements CanActivate {
  constructor(private readonly throttler: AppThrottler) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    return this.throttler.skipsAll(context) || this.throttler.canActivate(context);
  }
}
