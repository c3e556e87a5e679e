import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { User } from './entities/user.entity.js';
import { UserStateCache } from './user-state.cache.js';
import { UsersService } from './users.service.js';

/** Users and their account state; the HTTP routes live in UsersApiModule (they need auth's checks). */
@Module({
  imports: [TypeOrmModule.forFeature([User])],
  providers: [UsersService, UserStateCache],
  exports: [UsersService, UserStateCache],
})
export class UsersModule {}
