import { Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { AllConfig } from '#src/config/namespaces.js';
import { dataSourceOptions } from './data-source-options.js';
import { PgNotifications } from './pg-notifications.js';

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<AllConfig, true>) => {
        const database = config.get('database', { infer: true });
        return {
          ...dataSourceOptions(database),
          autoLoadEntities: true,
          migrationsRun: database.migrationsRun,
          retryAttempts: 0,
        };
      },
    }),
  ],
  providers: [PgNotifications],
  exports: [PgNotifications],
})
export class DatabaseModule {}
