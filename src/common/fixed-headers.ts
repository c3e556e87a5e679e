import type { IncomingMessage, ServerResponse } from 'node:http';

type HeaderMiddleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * The response headers a header-setting middleware (helmet) sets, worked out once. Helmet rebuilds
 * some values on every request (the CSP string, so that directives may be functions of the
 * request, e.g. nonces); a configuration of constants gives every response the same list, so
 * replaying it is the same answer for a fraction of the work. Throws if the middleware does not
 * finish synchronously or reads the request, which would make the list request-dependent.
 */
export function fixedHeaders(middleware: HeaderMiddleware): ReadonlyArray<readonly [string, string]> {
  const headers: [string, string][] = [];
  let finished = false;
  const req = new Proxy({} as IncomingMessage, {
    get(_target, property) {
      throw new Error(`header middleware read req.${String(property)}: its headers depend on the request`);
    },
  });
  const res = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers.push([name, Array.isArray(value) ? value.join(', ') : String(value)]);
      return res;
    },
    removeHeader() {},
  };
  middleware(req, res as unknown as ServerResponse, (error) => {
    if (error) throw error instanceof Error ? error : new Error('header middleware failed', { cause: error });
    finished = true;
  });
  if (!finished) throw new Error('header middleware did not finish synchronously');
  return headers;
}
