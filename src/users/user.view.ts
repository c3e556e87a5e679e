import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { User, UserRole } from './entities/user.entity.js';

/** The user as the API shows it (never hashes or secrets). */
export class UserView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() email: string;
  @ApiPropertyOptional({ type: String, nullable: true }) name: string | null;
  @ApiPropertyOptional({ type: String, nullable: true }) avatarUrl: string | null;
  @ApiProperty({ enum: ['user', 'admin'] }) role: UserRole;
  @ApiProperty() emailVerified: boolean;
  @ApiProperty() isActive: boolean;
  @ApiProperty() twoFactorEnabled: boolean;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;
}

export function toUserView(user: User): UserView {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    avatarUrl: user.avatarUrl,
    role: user.role,
    emailVerified: user.emailVerified,
    isActive: user.isActive,
    twoFactorEnabled: user.totpEnabled,
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
  };
}
