import type { INestApplication } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { IS_PUBLIC } from '#src/common/decorators/public.decorator.js';
import {
  operationIdFor,
  PROBLEM_DESCRIPTIONS,
  ProblemDetailsDto,
  problemResponse,
} from '#src/common/openapi-conventions.js';

type Operation = NonNullable<OpenAPIObject['paths'][string]['get']>;
type ResponseObject = { description: string; content?: Record<string, unknown> };

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const SAFE_METHODS = new Set(['get', 'head', 'options']);
const PROBLEM_SCHEMA_REF = '#/components/schemas/ProblemDetailsDto';

/** Security schemes: a Bearer access token (or API key), or the access cookie plus the CSRF header. */
const SECURITY_SCHEMES = {
  bearer: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'An access token from POST /auth/login (or /auth/refresh).',
  },
  cookie: {
    type: 'apiKey',
    in: 'cookie',
    name: 'access_token',
    description: 'Cookie mode: the httpOnly access_token cookie set by a login with `cookie: true`.',
  },
  csrf: {
    type: 'apiKey',
    in: 'header',
    name: 'X-CSRF-Token',
    description:
      'Cookie mode, unsafe methods: the csrfToken returned by login/refresh/GET /auth/csrf (also in the csrf_token cookie).',
  },
} as const;

/** Whether each operation (by operationId) needs no signed-in user: read from the controllers' metadata. */
function publicOperations(app: INestApplication): Map<string, boolean> {
  const result = new Map<string, boolean>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as (new (...args: never[]) => unknown) | null;
      if (typeof controller !== 'function') continue;
      const classPublic = Reflect.getMetadata(IS_PUBLIC, controller) === true;
      const prototype = controller.prototype as Record<string, unknown>;
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const handler = prototype[name];
        if (name === 'constructor' || typeof handler !== 'function') continue;
        const isPublic = (Reflect.getMetadata(IS_PUBLIC, handler) as boolean | undefined) ?? classPublic;
        result.set(operationIdFor(controller.name, name), isPublic);
      }
    }
  }
  return result;
}

/** Adds a problem answer unless the route declared its own for that status. */
function addProblem(operation: Operation, status: number): void {
  const responses = operation.responses as Record<string, ResponseObject>;
  responses[String(status)] ??= problemResponse(PROBLEM_DESCRIPTIONS[status]);
}

/** The conventions of docs/api.md, applied to every operation (see openapi-conventions.ts). */
function applyConventions(document: OpenAPIObject, isPublic: Map<string, boolean>): void {
  for (const item of Object.values(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const open = operation.operationId ? isPublic.get(operation.operationId) === true : false;
      operation.security = open
        ? []
        : SAFE_METHODS.has(method)
          ? [{ bearer: [] }, { cookie: [] }]
          : [{ bearer: [] }, { cookie: [], csrf: [] }];
      const parameters = (operation.parameters ?? []) as { in?: string }[];
      if (!open) {
        addProblem(operation, 401);
        addProblem(operation, 403);
      }
      if (operation.requestBody) {
        addProblem(operation, 400);
        addProblem(operation, 413);
        addProblem(operation, 415);
      }
      if (parameters.some((parameter) => parameter.in === 'path')) {
        addProblem(operation, 400);
        addProblem(operation, 404);
      }
      if (parameters.some((parameter) => parameter.in === 'query')) addProblem(operation, 400);
      addProblem(operation, 429);
      addProblem(operation, 500);
      // Every error answer goes through the problem-details filter, whatever a decorator (or
      // terminus' @HealthCheck) declared for its body.
      for (const [status, response] of Object.entries(operation.responses as Record<string, ResponseObject>)) {
        if (Number(status) >= 400) {
          response.content = { 'application/problem+json': { schema: { $ref: PROBLEM_SCHEMA_REF } } };
        }
      }
      operation.responses = Object.fromEntries(
        Object.entries(operation.responses).sort(([a], [b]) => a.localeCompare(b)),
      );
    }
  }
}

/**
 * The OpenAPI 3.1 document of the API: served at /api/docs-json and written to docs/openapi.json
 * by `npm run openapi` (the same function, so the committed file is what the server describes).
 */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setOpenAPIVersion('3.1.0')
      .setTitle('Quorum API')
      .setDescription(
        'Backend of the Quorum AI coding-agent platform. Errors are RFC 9457 problem details ' +
          '(application/problem+json). The guide is docs/api.md.',
      )
      .setVersion('1')
      .setLicense('UNLICENSED', 'https://quorum.dev/license')
      .addServer('/', 'This server')
      .build(),
    { operationIdFactory: operationIdFor, extraModels: [ProblemDetailsDto] },
  );
  document.components = {
    ...document.components,
    securitySchemes: { ...SECURITY_SCHEMES },
  };
  applyConventions(document, publicOperations(app));
  return document;
}
