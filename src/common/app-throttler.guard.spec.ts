import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { SkipThrottle, type ThrottlerModuleOptions, type ThrottlerStorage } from '@nestjs/throttler';
import { AppThrottler, AppThrottlerGuard } from './app-throttler.guard.js';

@SkipThrottle({ default: true, strict: true })
class Probes {
  live() {}
}

class Routes {
  open() {}

  @SkipThrottle({ default: true })
  skipped() {}

  @SkipThrottle({ strict: true })
  halfSkipped() {}
}

const context = (handler: () => void, type: new () => unknown) =>
  ({ getHandler: () => handler, getClass: () => type }) as unknown as ExecutionContext;

async function throttler(enabled: boolean, names = ['default']): Promise<AppThrottler> {
  const options: ThrottlerModuleOptions = {
    throttlers: names.map((name) => ({ name, ttl: 60_000, limit: 5 })),
    skipIf: () => !enabled,
  };
  const guard = new AppThrottler(options, {} as ThrottlerStorage, new Reflector());
  await guard.onModuleInit();
  return guard;
}

describe('AppThrottler.skipsAll', () => {
  it('skips every request while rate limiting is off', async () => {
    expect((await throttler(false)).skipsAll(context(Routes.prototype.open, Routes))).toBe(true);
  });

  it('skips a route (or class) that is @SkipThrottle() for every throttler, and no other', async () => {
    const guard = await throttler(true, ['default', 'strict']);
    expect(guard.skipsAll(context(Probes.prototype.live, Probes))).toBe(true);
    expect(guard.skipsAll(context(Routes.prototype.open, Routes))).toBe(false);
    expect(guard.skipsAll(context(Routes.prototype.skipped, Routes))).toBe(false);
    expect(guard.skipsAll(context(Routes.prototype.halfSkipped, Routes))).toBe(false);
    expect((await throttler(true)).skipsAll(context(Routes.prototype.skipped, Routes))).toBe(true);
  });

  it('the guard answers a skipped route synchronously and leaves the others to the throttler', async () => {
    const inner = await throttler(true);
    const counted = Promise.resolve(true);
    inner.canActivate = () => counted;
    const guard = new AppThrottlerGuard(inner);
    expect(guard.canActivate(context(Probes.prototype.live, Probes))).toBe(true);
    expect(guard.canActivate(context(Routes.prototype.open, Routes))).toBe(counted);
  });
});
