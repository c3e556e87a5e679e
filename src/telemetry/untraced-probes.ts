import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';

/**
 * Liveness and readiness probes are not traced (OTEL_TRACE_PROBES unset), and with the SDK loaded
 * they should cost what they cost without it. The HTTP instrumentation's ignore hook still runs an
 * ignored request inside a context of its own and binds the request's and the response's emitters
 * (every listener is then wrapped), and the Express instrumentation still works out each matched
 * layer's route before it sees there is no span: together a tenth of the live route's CPU. So a
 * probe goes around both instrumentations, explicitly, here: the server hands it to the listeners
 * as an uninstrumented server would, marked, and each instrumented Express layer sends a marked
 * request to its own handler. Every other request takes the instrumented path unchanged.
 */
const UNTRACED = Symbol('quorum.untraced-probe');

type Marked = IncomingMessage & { [UNTRACED]?: true };

/** Whether this request goes around the instrumentations (the server marked it). */
export function isUntracedRequest(request: object): boolean {
  return (request as Marked)[UNTRACED] === true;
}

/**
 * The server passes a request `skip` picks straight to its listeners (EventEmitter's own emit, the
 * one the HTTP instrumentation wraps: neither node:http nor node:net define another), marked;
 * everything else, requests included, through the server's prototype chain, instrumented or not.
 */
export function emitUntraced(server: Server, skip: (url: string | undefined) => boolean): void {
  type Emit = (this: Server, event: string | symbol, ...args: unknown[]) => boolean;
  const prototype = Object.getPrototypeOf(server) as { emit: Emit };
  server.emit = function emit(this: Server, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'request' && skip((args[0] as IncomingMessage).url)) {
      (args[0] as Marked)[UNTRACED] = true;
      return EventEmitter.prototype.emit.call(this, event, args[0], args[1]);
    }
    return prototype.emit.call(this, event, ...args);
  } as Server['emit'];
}

type Handler = ((this: unknown, ...args: unknown[]) => unknown) & { __original?: Handler };
interface Layer {
  handle: Handler;
}

/**
 * Makes the Express instrumentation's patched layers hand a marked request to the layer's own
 * handler. The instrumentation patches each layer as Express registers it (its `_applyPatch`, the
 * one place it does); the patched handler keeps the layer's own as `__original` (the shimmer
 * contract its unwrap relies on). The package version is pinned; untraced-probes.spec.ts checks
 * both against it.
 */
export function routeUntracedAroundExpressSpans(instrumentation: object): void {
  const target = instrumentation as { _applyPatch?: (layer: Layer, layerPath?: string) => void };
  const applyPatch = target._applyPatch;
  if (typeof applyPatch !== 'function') throw new Error('@opentelemetry/instrumentation-express: no _applyPatch');
  target._applyPatch = function (this: unknown, layer: Layer, layerPath?: string) {
    const before = layer.handle;
    applyPatch.call(this, layer, layerPath);
    const instrumented = layer.handle;
    const own = instrumented.__original;
    // Not patched now (already done, or an error handler, which it leaves as it is).
    if (instrumented === before || typeof own !== 'function' || own === instrumented) return;
    // Three parameters like Express's own handlers (the router passes (req, res, next), and skips
    // functions of four as error handlers).
    const handle = function (this: unknown, req: unknown, res: unknown, next: unknown): unknown {
      return (isUntracedRequest(req as object) ? own : instrumented).call(this, req, res, next);
    };
    // A router's or an application's handler carries state (`stack`, `params`, …) that Express
    // reads through the layer: forwarded as the instrumentation's patched handler does.
    for (const key in own)
      Object.defineProperty(handle, key, {
        get: () => (own as unknown as Record<string, unknown>)[key],
        set: (value: unknown) => ((own as unknown as Record<string, unknown>)[key] = value),
      });
    layer.handle = handle;
  };
}
