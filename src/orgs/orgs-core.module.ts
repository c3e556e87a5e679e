import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Organization } from './entities/organization.entity.js';
import { OrgInvitation } from './entities/org-invitation.entity.js';
import { OrgMembership } from './entities/org-membership.entity.js';
import { MemberDepartureService } from './member-departure.service.js';
import { MembershipsService } from './memberships.service.js';
import { ResourceAccessGuard } from './resource-access.guard.js';
import { ResourceLocators } from './resource-locators.js';

/**
 * What every module needs of organizations: memberships, the registry of resource owners and the
 * guard behind @Authorize(...). Global, because every resource module's controllers use the guard
 * and its services register their locators.
 */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([Organization, OrgMembership, OrgInvitation])],
  providers: [MembershipsService, MemberDepartureService, ResourceLocators, ResourceAccessGuard],
  exports: [MembershipsService, MemberDepartureService, ResourceLocators, ResourceAccessGuard],
})
export class OrgsCoreModule {}
