import { Module } from '@nestjs/common';
import { CryptoModule } from './common/crypto/crypto.module.js';
import { AppConfigModule } from './config/config.module.js';
import { DatabaseModule } from './database/database.module.js';
import { LoggingModule } from './logging/logging.module.js';
import { QueueModule } from './queue/queue.module.js';
import { RedisModule } from './redis/redis.module.js';

/** What both processes stand on: configuration, logging, PostgreSQL, Redis and the queues. */
@Module({
  imports: [AppConfigModule, LoggingModule, DatabaseModule, RedisModule, QueueModule, CryptoModule],
})
export class CoreModule {}
