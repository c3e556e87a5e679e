import type { ExecutionContext } from '@nestjs/common';

type Target = (...args: never[]) => unknown;

/**
 * Route metadata (decorators such as @Public() or @Roles()) is fixed once the application is built,
 * yet global guards read it on every request through reflect-metadata lookups. This reads it once
 * per handler and class and remembers it; the key includes the class because an inherited handler
 * can sit under classes with different class-level metadata.
 */
export class RouteMetadataCache<T> {
  private readonly byHandler = new WeakMap<Target, WeakMap<Target, T>>();

  constructor(private readonly read: (targets: [Target, Target]) => T) {}

  get(context: ExecutionContext): T {
    const handler = context.getHandler() as Target;
    const type = context.getClass() as unknown as Target;
    let byClass = this.byHandler.get(handler);
    if (!byClass) {
      byClass = new WeakMap();
      this.byHandler.set(handler, byClass);
    }
    if (byClass.has(type)) return byClass.get(type) as T;
    const value = this.read([handler, type]);
    byClass.set(type, value);
    return value;
  }
}
