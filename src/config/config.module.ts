import { Global, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { CONFIG_NAMESPACES } from './namespaces.js';

@Global()
@Module({
  imports: [
    ConfigModule.forRoot({
      isGlobal: true,
      ignoreEnvFile: true, // env.ts loads .env itself, before any namespace reads it
      load: [...CONFIG_NAMESPACES],
    }),
  ],
})
export class AppConfigModule {}
