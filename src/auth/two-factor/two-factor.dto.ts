import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

export class TotpCodeDto {
  @ApiProperty({ example: '123456', description: 'A current 6-digit TOTP code.' })
  @IsString()
  @Matches(/^\d{6}$/, { message: 'must be 6 digits' })
  code: string;
}

export class DisableTwoFactorDto {
  @ApiPropertyOptional({ description: 'A current TOTP code or an unused backup code.' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(32)
  code?: string;

  @ApiPropertyOptional({ description: 'The account password (instead of a code).' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  password?: string;
}

export class LoginTwoFactorDto {
  @ApiProperty({ description: 'From the first step of POST /auth/login.' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(2048)
  mfaToken: string;

  @ApiPropertyOptional({ example: '123456' })
  @IsOptional()
  @IsString()
  @Matches(/^\d{6}$/, { message: 'must be 6 digits' })
  code?: string;

  @ApiPropertyOptional({ example: 'abcde-fghjk' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(32)
  backupCode?: string;

  @ApiPropertyOptional({ description: 'Browser mode, as on POST /auth/login.' })
  @IsOptional()
  @IsBoolean()
  cookie?: boolean;
}

export class TwoFactorStatusView {
  @ApiProperty() enabled: boolean;
  @ApiProperty() backupCodesRemaining: number;
}

export class TwoFactorSetupView {
  @ApiProperty({ description: 'Base32 secret, for manual entry.' }) secret: string;
  @ApiProperty({ example: 'otpauth://totp/Quorum:ada%40example.com?secret=…' }) otpauthUrl: string;
  @ApiProperty({ example: 'data:image/png;base64,…' }) qrCodeDataUrl: string;
}

export class BackupCodesView {
  @ApiProperty({ type: [String], description: 'Shown once; each works once.' }) backupCodes: string[];
}
