import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional, IsString, IsUrl, Length, MaxLength, ValidateIf } from 'class-validator';
import { UserView } from '../user.view.js';
import { USER_ROLES } from '../entities/user.entity.js';
import type { UserRole } from '../entities/user.entity.js';

export class UpdateMeDto {
  @ApiPropertyOptional({ type: String, nullable: true, maxLength: 100 })
  @IsOptional()
  @ValidateIf((_o, v) => v !== null)
  @IsString()
  @Length(1, 100)
  name?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, description: 'https URL of an image.' })
  @IsOptional()
  @ValidateIf((_o, v) => v !== null)
  @IsUrl({ protocols: ['https'], require_protocol: true })
  @MaxLength(2048)
  avatarUrl?: string | null;
}

export class AdminUpdateUserDto {
  @ApiPropertyOptional({ enum: USER_ROLES })
  @IsOptional()
  @IsIn(USER_ROLES)
  role?: UserRole;

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  isActive?: boolean;
}

export class DeleteMeDto {
  @ApiPropertyOptional({ description: 'The current password (accounts that have one).' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  password?: string;

  @ApiPropertyOptional({ description: 'A current TOTP code (accounts with 2FA, or without a password).' })
  @IsOptional()
  @IsString()
  @MaxLength(16)
  code?: string;
}

export class UserPageView {
  @ApiProperty({ type: [UserView] }) items: UserView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}
