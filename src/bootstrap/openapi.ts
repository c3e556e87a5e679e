import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import express, { type RequestHandler } from 'express';
import { createOpenApiDocument } from './openapi-document.js';

/** Where the Swagger UI (and, with `-json`, the document) is served, outside the API prefix. */
export const DOCS_PATH = 'api/docs';

/**
 * OpenAPI 3.1 generated from the controllers and DTOs: JSON at /api/docs-json, Swagger UI at /api/docs.
 * The document is built on its first request, not at start-up: most API processes never serve it.
 *
 * SwaggerModule registers its ten routes and two static-file mounts on the application, where
 * they would sit in front of every API route and be tried against every request's path. They are
 * collected into one router instead, which the caller mounts behind a single prefix check
 * (`configureHttpApp`). Anything else SwaggerModule does goes to the real application.
 */
export function setupOpenApi(app: NestExpressApplication): RequestHandler {
  const docs = express.Router();
  const adapter = app.getHttpAdapter();
  const adapterFacade = new Proxy(adapter, {
    get: (target, property, receiver): unknown =>
      property === 'get'
        ? (path: string, handler: RequestHandler) => docs.get(path, handler)
        : Reflect.get(target, property, receiver),
  });
  const appFacade = new Proxy(app, {
    get: (target, property, receiver): unknown => {
      if (property === 'getHttpAdapter') return () => adapterFacade;
      if (property === 'useStaticAssets')
        return (root: string, options: { prefix: string }) => docs.use(options.prefix, express.static(root));
      return Reflect.get(target, property, receiver);
    },
  });
  const document = () => createOpenApiDocument(app);
  SwaggerModule.setup(DOCS_PATH, appFacade as INestApplication, document, {
    jsonDocumentUrl: `${DOCS_PATH}-json`,
    useGlobalPrefix: false,
  });
  return docs;
}
