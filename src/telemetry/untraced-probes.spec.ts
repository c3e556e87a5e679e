import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { isTracingSuppressed } from '@opentelemetry/core';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import express from 'express';
import { isProbe } from './tracing.js';
import { emitUntraced, isUntracedRequest, routeUntracedAroundExpressSpans } from './untraced-probes.js';

/**
 * The real HTTP and Express instrumentations, configured as tracing.ts does, patched onto this
 * process's node:http and express (as the ESM/CJS loader hooks do in the built processes), with
 * spans kept in memory.
 */
describe('probes go around the HTTP and Express instrumentations; other requests are traced as before', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  // Structural: the Express instrumentation brings its own copy of @opentelemetry/instrumentation.
  interface ModuleDefinition {
    name: string;
    patch?: (exports: unknown, version?: string) => unknown;
    unpatch?: (exports: unknown, version?: string) => void;
  }
  interface Instrumented {
    setTracerProvider(provider: TracerProvider): void;
    getModuleDefinitions(): ModuleDefinition[];
  }
  const patched: Array<[ModuleDefinition, unknown]> = [];
  let server: Server;
  let base: string;
  /** What the route handlers saw of the instrumentations, per path. */
  const seen = new Map<string, { marked: boolean; suppressed: boolean; layerPaths: boolean; span: boolean }>();

  const patch = (instrumentation: Instrumented, name: string, exports: unknown) => {
    instrumentation.setTracerProvider(provider);
    const definition = instrumentation.getModuleDefinitions().find((d) => d.name === name)!;
    definition.patch!(exports, undefined);
    patched.push([definition, exports]);
  };

  beforeAll(async () => {
    context.setGlobalContextManager(contextManager);
    patch(
      new HttpInstrumentation({ enabled: false, ignoreIncomingRequestHook: (request) => isProbe(request.url) }),
      'http',
      http,
    );
    const expressInstrumentation = new ExpressInstrumentation({
      enabled: false,
      ignoreLayersType: [ExpressLayerType.MIDDLEWARE],
    });
    routeUntracedAroundExpressSpans(expressInstrumentation);
    patch(expressInstrumentation, 'express', express);

    const app = express();
    app.use((_req, _res, next) => next());
    const api = express.Router();
    const handler = (req: IncomingMessage & { path: string; baseUrl: string }, res: ServerResponse) => {
      seen.set(req.baseUrl + req.path, {
        marked: isUntracedRequest(req),
        suppressed: isTracingSuppressed(context.active()),
        layerPaths: '__ot_middlewares' in req,
        span: trace.getSpan(context.active()) !== undefined,
      });
      res.setHeader('content-type', 'application/json').end('{"status":"ok"}');
    };
    api.get('/health/live', handler);
    api.get('/health/ready', handler);
    api.get('/tasks', handler);
    app.use('/api/v1', api);
    server = http.createServer(app);
    emitUntraced(server, isProbe);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    for (const [definition, exports] of patched.reverse()) definition.unpatch!(exports, undefined);
    context.disable();
    await provider.shutdown();
  });

  beforeEach(() => exporter.reset());

  it('answers a probe as without tracing: no span, no traced context, no Express route bookkeeping', async () => {
    for (const path of ['/api/v1/health/live', '/api/v1/health/ready?full=1']) {
      const res = await fetch(base + path);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    }
    for (const path of ['/api/v1/health/live', '/api/v1/health/ready'])
      expect(seen.get(path)).toEqual({ marked: true, suppressed: false, layerPaths: false, span: false });
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('traces any other request with its HTTP span, its route and its route handler span', async () => {
    const res = await fetch(`${base}/api/v1/tasks?page=2`);
    expect(res.status).toBe(200);
    expect(seen.get('/api/v1/tasks')).toEqual({ marked: false, suppressed: false, layerPaths: true, span: true });
    await provider.forceFlush();
    const spans = exporter.getFinishedSpans();
    const request = spans.find((s) => s.instrumentationScope.name === '@opentelemetry/instrumentation-http');
    expect(request).toMatchObject({ name: 'GET /api/v1/tasks', attributes: { 'http.route': '/api/v1/tasks' } });
    const handler = spans.find((s) => s.name === 'request handler');
    expect(handler?.parentSpanContext?.spanId).toBe(request!.spanContext().spanId);
    // The mounted router is a layer too (its span ends at once), reached through its own state.
    expect(spans.map((s) => s.name).sort()).toEqual([
      'GET /api/v1/tasks',
      'request handler',
      expect.stringMatching(/^router - /),
    ]);
  });

  it('a request the server did not mark keeps the instrumentations even on a probe path (another server)', async () => {
    const other = http.createServer((req, res) => {
      seen.set('other', {
        marked: isUntracedRequest(req),
        suppressed: isTracingSuppressed(context.active()),
        layerPaths: false,
        span: false,
      });
      res.end();
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    await fetch(`http://127.0.0.1:${(other.address() as AddressInfo).port}/api/v1/health/live`);
    await new Promise((resolve) => other.close(resolve));
    // The HTTP instrumentation's own ignore hook: not traced, inside its suppressed context.
    expect(seen.get('other')).toMatchObject({ marked: false, suppressed: true });
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
