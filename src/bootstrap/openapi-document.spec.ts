import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import type { OpenAPIObject } from '@nestjs/swagger';
import { buildOpenApiDocument } from './openapi-offline.js';

const COMMITTED = new URL('../../docs/openapi.json', import.meta.url);
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'] as const;

interface Described {
  operationId?: string;
  summary?: string;
  security?: unknown[];
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
}

function operations(document: OpenAPIObject): { route: string; operation: Described }[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method]).map((method) => ({
      route: `${method.toUpperCase()} ${path}`,
      operation: item[method] as unknown as Described,
    })),
  );
}

describe('the OpenAPI document', () => {
  let document: OpenAPIObject;

  beforeAll(async () => {
    document = await buildOpenApiDocument();
  });

  it('is the committed docs/openapi.json', () => {
    const committed = readFileSync(COMMITTED, 'utf8');
    const generated = `${JSON.stringify(document, null, 2)}\n`;
    const problems =
      committed === generated ? [] : ['docs/openapi.json is stale: run `npm run openapi` and commit docs/openapi.json'];
    expect(problems).toEqual([]);
  });

  it('gives every operation a unique `<controller>.<method>` operationId, a summary and a success answer', () => {
    const all = operations(document);
    expect(all.length).toBeGreaterThan(50);
    const problems = all.flatMap(({ route, operation }) => [
      ...(/^[a-z][A-Za-z]*\.[a-z][A-Za-z]*$/.test(operation.operationId ?? '')
        ? []
        : [`${route}: no operationId of the form controller.method`]),
      ...(operation.summary?.trim() ? [] : [`${route}: no summary (add @ApiOperation({ summary }))`]),
      ...(Object.keys(operation.responses).some((status) => Number(status) >= 200 && Number(status) < 400)
        ? []
        : [`${route}: no success answer (add @ApiOkResponse({ type }) or @ApiNoContentResponse())`]),
    ]);
    expect(problems).toEqual([]);
    const ids = all.map(({ operation }) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(['tasks.create', 'tasks.execute', 'runs.stream', 'auth.login']));
  });

  it('documents problem details on every 4xx and 5xx answer, and at least one 4xx per operation', () => {
    const problems = operations(document).flatMap(({ route, operation }) => {
      const statuses = Object.keys(operation.responses).map(Number);
      const found = statuses.some((status) => status >= 400 && status < 500) ? [] : [`${route}: no 4xx answer`];
      for (const status of statuses.filter((s) => s >= 400)) {
        const ref = operation.responses[String(status)].content?.['application/problem+json']?.schema?.$ref;
        if (ref !== '#/components/schemas/ProblemDetailsDto') found.push(`${route}: ${status} is not a problem`);
      }
      return found;
    });
    expect(problems).toEqual([]);
  });

  it('declares security per operation: none on public routes, Bearer or cookie (+ CSRF on unsafe methods) elsewhere', () => {
    const byRoute = new Map(operations(document).map(({ route, operation }) => [route, operation.security]));
    expect(byRoute.get('POST /api/v1/auth/login')).toEqual([]);
    expect(byRoute.get('GET /api/v1/tasks')).toEqual([{ bearer: [] }, { cookie: [] }]);
    expect(byRoute.get('POST /api/v1/tasks')).toEqual([{ bearer: [] }, { cookie: [], csrf: [] }]);
    expect(Object.keys(document.components?.securitySchemes ?? {}).sort()).toEqual(['bearer', 'cookie', 'csrf']);
  });
});
