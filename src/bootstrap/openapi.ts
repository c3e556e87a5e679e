import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** Where the Swagger UI (and, with `-json`, the document) is served, outside the API prefix. */
export const DOCS_PATH = 'api/docs';

/**
 * OpenAPI 3.1 generated from the controllers and DTOs: JSON at /api/docs-json, Swagger UI at /api/docs.
 * The document is built on its first request, not at start-up: most API processes never serve it.
 */
export function setupOpenApi(app: INestApplication): void {
  const document = () => SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setOpenAPIVersion('3.1.0')
      .setTitle('Quorum API')
      .setDescription('Backend of the Quorum AI coding-agent platform. Errors are RFC 9457 problem details.')
      .setVersion('1')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'bearer')
      .addCookieAuth('access_token', { type: 'apiKey', in: 'cookie', name: 'access_token' }, 'cookie')
      .build(),
  );
  SwaggerModule.setup(DOCS_PATH, app, document, { jsonDocumentUrl: `${DOCS_PATH}-json`, useGlobalPrefix: false });
}
