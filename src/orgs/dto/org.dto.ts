import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsIn, IsOptional, IsString, IsUUID, Length, Matches, MaxLength } from 'class-validator';
import { PageQueryDto } from '#src/common/pagination.js';
import { ORG_ROLES, type OrgRole } from '../org-roles.js';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class OrgNameDto {
  @ApiProperty({ example: 'Acme platform team', minLength: 1, maxLength: 100 })
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  @Matches(/^[^\p{Cc}]*$/u, { message: 'name must not contain control characters' })
  name!: string;
}

export class OrgRoleDto {
  @ApiProperty({ enum: ORG_ROLES })
  @IsIn(ORG_ROLES)
  role!: OrgRole;
}

export class CreateInvitationDto {
  @ApiProperty({ example: 'ada@example.com', maxLength: 254 })
  @Transform(trim)
  @IsEmail()
  @MaxLength(254)
  email!: string;

  @ApiProperty({ enum: ORG_ROLES })
  @IsIn(ORG_ROLES)
  role!: OrgRole;
}

export class AcceptInvitationDto {
  @ApiProperty({ description: 'The token from the invitation link.' })
  @IsString()
  @Length(1, 128)
  token!: string;
}

/** `?orgId=` on list routes: the organization's resources instead of my own. */
export class OrgScopedPageQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ format: 'uuid', description: "The organization's resources instead of my own." })
  @IsOptional()
  @IsUUID()
  orgId?: string;
}

export class OrgView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ORG_ROLES, description: 'My role in it.' }) role!: OrgRole;
  @ApiProperty() createdAt!: string;
}

export class OrgEnvelope {
  @ApiProperty({ type: OrgView }) org!: OrgView;
}

export class OrgPage {
  @ApiProperty({ type: [OrgView] }) items!: OrgView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}

export class MemberView {
  @ApiProperty({ format: 'uuid' }) userId!: string;
  @ApiProperty() email!: string;
  @ApiProperty({ type: String, nullable: true }) name!: string | null;
  @ApiProperty({ enum: ORG_ROLES }) role!: OrgRole;
  @ApiProperty() joinedAt!: string;
}

export class MemberList {
  @ApiProperty({ type: [MemberView] }) items!: MemberView[];
}

export class MemberEnvelope {
  @ApiProperty({ type: MemberView }) member!: MemberView;
}

export class InvitationView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() email!: string;
  @ApiProperty({ enum: ORG_ROLES }) role!: OrgRole;
  @ApiProperty() expiresAt!: string;
  @ApiProperty() createdAt!: string;
  @ApiProperty({ type: String, nullable: true }) acceptedAt!: string | null;
}

export class InvitationEnvelope {
  @ApiProperty({ type: InvitationView }) invitation!: InvitationView;
}

export class InvitationPage {
  @ApiProperty({ type: [InvitationView] }) items!: InvitationView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}
