import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { AllConfig } from '#src/config/namespaces.js';
import { dataSourceOptions } from './data-source-options.js';

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
})
export class DatabaseModule {}
