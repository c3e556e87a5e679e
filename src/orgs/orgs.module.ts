import { Module } from '@nestjs/common';
import { RunsCoreModule } from '#src/agents/runs/runs-core.module.js';
import { MailModule } from '#src/mail/mail.module.js';
import { UsersModule } from '#src/users/users.module.js';
import { InvitationsService } from './invitations.service.js';
import { OrgsController } from './orgs.controller.js';
import { OrgsService } from './orgs.service.js';

/** The organization routes (the memberships, access guard and entities are in OrgsCoreModule). */
@Module({
  imports: [RunsCoreModule, UsersModule, MailModule],
  controllers: [OrgsController],
  providers: [OrgsService, InvitationsService],
  exports: [OrgsService],
})
export class OrgsModule {}
