import { Module } from '@nestjs/common';
import { AuthModule } from '#src/auth/auth.module.js';
import { UsersController } from './users.controller.js';
import { UsersModule } from './users.module.js';

/** The /users routes; separate from UsersModule because account deletion needs auth's checks. */
@Module({
  imports: [UsersModule, AuthModule],
  controllers: [UsersController],
})
export class UsersApiModule {}
