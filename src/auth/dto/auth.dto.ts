import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsEmail, IsNotEmpty, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { UserView } from '#src/users/user.view.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../password.service.js';

const normalizeEmail = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.trim().toLowerCase() : value;

export class RegisterDto {
  @ApiProperty({ example: 'ada@example.com' })
  @Transform(normalizeEmail)
  @IsEmail()
  @MaxLength(254)
  email: string;

  @ApiProperty({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH })
  @IsString()
  @MinLength(PASSWORD_MIN_LENGTH)
  @MaxLength(PASSWORD_MAX_LENGTH)
  password: string;

  @ApiPropertyOptional({ maxLength: 100 })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  name?: string;
}

export class LoginDto {
  @ApiProperty()
  @Transform(normalizeEmail)
  @IsEmail()
  @MaxLength(254)
  email: string;

  /** Longer than the policy allows is refused here, before any hashing. */
  @ApiProperty({ maxLength: PASSWORD_MAX_LENGTH })
  @IsString()
  @IsNotEmpty()
  @MaxLength(PASSWORD_MAX_LENGTH)
  password: string;

  @ApiPropertyOptional({ description: 'Browser mode: tokens go into httpOnly cookies instead of the body.' })
  @IsOptional()
  @IsBoolean()
  cookie?: boolean;
}

export class RefreshDto {
  @ApiPropertyOptional({ description: 'Omit in cookie mode (the refresh_token cookie is used).' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(2048)
  refreshToken?: string;
}

export class EmailDto {
  @ApiProperty()
  @Transform(normalizeEmail)
  @IsEmail()
  @MaxLength(254)
  email: string;
}

export class TokenPairView {
  @ApiPropertyOptional({ description: 'Absent in cookie mode.' }) accessToken?: string;
  @ApiPropertyOptional({ description: 'Absent in cookie mode.' }) refreshToken?: string;
  @ApiProperty({ description: 'Access-token lifetime in seconds.' }) expiresIn: number;
  @ApiProperty({ enum: ['Bearer'] }) tokenType: 'Bearer';
  @ApiProperty({ type: UserView }) user: UserView;
  @ApiPropertyOptional({
    description: 'Cookie mode only: send it as X-CSRF-Token on unsafe requests (also in the csrf_token cookie).',
  })
  csrfToken?: string;
}

export class CsrfTokenView {
  @ApiProperty({ description: 'Send as X-CSRF-Token on unsafe requests in cookie mode; bound to this session.' })
  csrfToken: string;
}

export class MfaRequiredView {
  @ApiProperty({ enum: [true] }) mfaRequired: true;
  @ApiProperty() mfaToken: string;
}

export class UserEnvelope {
  @ApiProperty({ type: UserView }) user: UserView;
}

export class TokenDto {
  @ApiProperty()
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  token: string;
}

export class ResetPasswordDto extends TokenDto {
  @ApiProperty({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH })
  @IsString()
  @MinLength(PASSWORD_MIN_LENGTH)
  @MaxLength(PASSWORD_MAX_LENGTH)
  password: string;
}

export class ChangePasswordDto {
  @ApiProperty({ maxLength: PASSWORD_MAX_LENGTH })
  @IsString()
  @IsNotEmpty()
  @MaxLength(PASSWORD_MAX_LENGTH)
  currentPassword: string;

  @ApiProperty({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH })
  @IsString()
  @MinLength(PASSWORD_MIN_LENGTH)
  @MaxLength(PASSWORD_MAX_LENGTH)
  newPassword: string;
}

export class SessionView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ type: String, nullable: true }) userAgent: string | null;
  @ApiProperty({ type: String, nullable: true }) ip: string | null;
  @ApiProperty() createdAt: string;
  @ApiProperty() lastUsedAt: string;
  @ApiProperty({ description: 'The session of this request.' }) current: boolean;
}

export class SessionListView {
  @ApiProperty({ type: [SessionView] }) items: SessionView[];
}
