import { Module } from '@nestjs/common';
import { CryptoModule } from './common/crypto/crypto.module.js';
import { AppConfigModule } from './config/config.module.js';
import { DatabaseModule } from './database/database.module.js';
import { LoggingModule } from './logging/logging.module.js';
import { QueueModule } from './queue/queue.module.js';
import { RedisModule } from './redis/redis.module.js';
import { AuditCoreModule } from './audit/audit-core.module.js';
import { OrgsCoreModule } from './orgs/orgs-core.module.js';
import { TracingShutdown } from './telemetry/tracing-shutdown.js';

/**
 * What both processes stand on: configuration, logging, PostgreSQL, Redis and the queues; the
 * organization memberships + access guard and the audit writer every module uses; and the flush of
 * OpenTelemetry's last spans at shutdown.
 */
@Module({
  imports: [
    AppConfigModule,
    LoggingModule,
    DatabaseModule,
    RedisModule,
    QueueModule,
    CryptoModule,
    OrgsCoreModule,
    AuditCoreModule,
  ],
  providers: [TracingShutdown],
})
export class CoreModule {}
