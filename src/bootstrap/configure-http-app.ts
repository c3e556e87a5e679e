import type { INestApplication } from '@nestjs/common';
import { RequestMethod } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { NestExpressApplication } from '@nestjs/platform-express';
import cookieParser from 'cookie-parser';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { createValidationPipe } from '#src/common/validation.js';
import type { AllConfig } from '#src/config/namespaces.js';
import { setupOpenApi } from './openapi.js';

export const API_PREFIX = 'api/v1';

/**
 * Everything the HTTP app needs beyond its modules, shared by `main.ts` and the e2e tests so that
 * the tests exercise exactly what production serves.
 */
export function configureHttpApp(app: NestExpressApplication): INestApplication {
  const config = app.get(ConfigService<AllConfig, true>);
  const settings = config.get('app', { infer: true });
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  if (settings.trustProxy) app.set('trust proxy', true);
  app.use(
    helmet({
      // Swagger UI needs its inline scripts; the JSON API itself never serves HTML.
      contentSecurityPolicy: {
        directives: { defaultSrc: ["'self'"], scriptSrc: ["'self'", "'unsafe-inline'"], imgSrc: ["'self'", 'data:'] },
      },
      hsts: settings.production,
    }),
  );
  app.use(cookieParser());
  app.useBodyParser('json', { limit: settings.bodyLimit });
  app.useBodyParser('urlencoded', { limit: settings.bodyLimit, extended: false });
  app.enableCors({
    origin: settings.corsOrigins.length > 0 ? settings.corsOrigins : false,
    credentials: true,
    exposedHeaders: ['X-Request-Id', 'Retry-After', 'Location'],
  });
  app.setGlobalPrefix(API_PREFIX, {
    exclude: [
      { path: 'metrics', method: RequestMethod.GET },
      { path: 'oauth/*path', method: RequestMethod.ALL },
    ],
  });
  app.useGlobalPipes(createValidationPipe());
  setupOpenApi(app);
  return app;
}
