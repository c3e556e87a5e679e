import { timingSafeEqual, createHash } from 'node:crypto';
import { Controller, Get, Headers, Res } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiBearerAuth, ApiExcludeController } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import type { Response } from 'express';
import { NotFoundError, UnauthorizedError } from '#src/common/errors.js';
import { Public } from '#src/common/decorators/public.decorator.js';
import type { AllConfig } from '#src/config/namespaces.js';
import { PrometheusService } from './prometheus.service.js';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** `GET /metrics` on the root path (outside /api/v1), for Prometheus, behind `METRICS_TOKEN`. */
@ApiExcludeController()
@ApiBearerAuth('bearer')
@Public() // not a user route: the scrape token below is its authentication
@SkipThrottle()
@Controller('metrics')
export class PrometheusController {
  private readonly token: Buffer | undefined;

  constructor(
    private readonly prometheus: PrometheusService,
    config: ConfigService<AllConfig, true>,
  ) {
    const token = config.get('llm', { infer: true }).metricsToken;
    this.token = token ? digest(token) : undefined;
  }

  @Get()
  async scrape(@Headers('authorization') authorization: string | undefined, @Res() res: Response): Promise<void> {
    if (!this.token) throw new NotFoundError('Metrics endpoint');
    const presented = authorization?.startsWith('Bearer ') ? authorization.slice(7) : '';
    // Compare digests: constant time and independent of the presented token's length.
    if (!presented || !timingSafeEqual(digest(presented), this.token)) {
      throw new UnauthorizedError('INVALID_METRICS_TOKEN', 'A valid metrics bearer token is required.');
    }
    res.setHeader('Content-Type', this.prometheus.contentType);
    res.send(await this.prometheus.render());
  }
}
