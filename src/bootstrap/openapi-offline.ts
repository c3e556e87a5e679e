import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { OpenAPIObject } from '@nestjs/swagger';
import { AppModule } from '#src/app.module.js';
import { API_PREFIX, ROOT_ROUTES } from './configure-http-app.js';
import { createOpenApiDocument } from './openapi-document.js';

/**
 * The OpenAPI document without a database or Redis: the API's modules are loaded in Nest's preview
 * mode (nothing is instantiated, only the controllers' metadata is read). `npm run openapi` and the
 * document's spec test use it.
 */
export async function buildOpenApiDocument(): Promise<OpenAPIObject> {
  const app = await NestFactory.create<NestExpressApplication>(await AppModule.register({ workerInProcess: false }), {
    preview: true,
    logger: false,
    abortOnError: false,
    bodyParser: false,
  });
  try {
    app.setGlobalPrefix(API_PREFIX, { exclude: ROOT_ROUTES });
    return createOpenApiDocument(app);
  } finally {
    await app.close();
  }
}
