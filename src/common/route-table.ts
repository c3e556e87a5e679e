import type { HttpAdapterHost } from '@nestjs/core';

interface ExpressLayer {
  route?: { methods: Record<string, boolean> };
  match(path: string): boolean;
}

/** The methods registered for a path, to answer 405 with an Allow header instead of a bare 404. */
export function allowedMethods(adapterHost: HttpAdapterHost, path: string): string[] {
  const app = adapterHost.httpAdapter?.getInstance?.<{ router?: { stack: ExpressLayer[] } } | undefined>();
  const stack = app?.router?.stack ?? [];
  const methods = new Set<string>();
  for (const layer of stack) {
    if (!layer.route) continue;
    try {
      if (!layer.match(path)) continue;
    } catch {
      continue;
    }
    const registered = Object.entries(layer.route.methods).filter(([method, on]) => on && method !== '_all');
    // `app.all()` catch-alls (the framework's own not-found handler among them) say nothing about this path.
    if (layer.route.methods._all || registered.length > 8) continue;
    for (const [method] of registered) methods.add(method.toUpperCase());
  }
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}
