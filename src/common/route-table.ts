import type { HttpAdapterHost } from '@nestjs/core';

interface ExpressLayer {
  route?: { methods: Record<string, boolean> };
  match(path: string): boolean;
}

/** The methods registered for a path, to answer 405 with an Allow header instead of a bare 404. */
export function allowedMethods(adapterHost: HttpAdapterHost, path: string): string[] {
  const app = adapterHost.httpAdapter?.getInstance?.() as { router?: { stack: ExpressLayer[] } } | undefined;
  const stack = app?.router?.stack ?? [];
  const methods = new Set<string>();
  for (const layer of stack) {
    if (!layer.route) continue;
    try {
      if (!layer.match(path)) continue;
    } catch {
      continue;
    }
    for (const [method, on] of Object.entries(layer.route.methods)) {
      if (on && method !== '_all') methods.add(method.toUpperCase());
    }
  }
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}
