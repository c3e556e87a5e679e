import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';

/** Limits per signed-in user when there is one, otherwise per client IP. */
@Injectable()
export class AppThrottlerGuard extends ThrottlerGuard {
  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    const user = req.user as { id?: string } | undefined;
    if (user?.id) return `user:${user.id}`;
    return `ip:${String(req.ip ?? 'unknown')}`;
  }

  /** With RATE_LIMIT_ENABLED=false, skip at once instead of after each throttler's metadata reads. */
  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    return !Array.isArray(this.options) && this.options.skipIf?.(context) === true;
  }
}
