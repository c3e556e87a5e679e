import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';

/** Limits per API key, else per signed-in user, else per client IP. */
@Injectable()
export class AppThrottlerGuard extends ThrottlerGuard {
  protected override getTracker(req: Record<string, unknown>): Promise<string> {
    const user = req.user as { id?: string; apiKey?: { id: string } } | undefined;
    if (user?.apiKey) return Promise.resolve(`key:${user.apiKey.id}`);
    if (user?.id) return Promise.resolve(`user:${user.id}`);
    return Promise.resolve(`ip:${typeof req.ip === 'string' ? req.ip : 'unknown'}`);
  }

  /** With RATE_LIMIT_ENABLED=false, skip at once instead of after each throttler's metadata reads. */
  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    return Promise.resolve(!Array.isArray(this.options) && this.options.skipIf?.(context) === true);
  }
}
