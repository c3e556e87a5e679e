import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';

export class CreateRepositoryDto {
  @ApiProperty({
    example: 'https://github.com/acme/widgets.git',
    description: 'An https URL; a local path or file:// URL only when the server allows local repositories.',
    maxLength: 2048,
  })
  @IsString()
  @MinLength(1)
  @MaxLength(2048)
  url: string;

  @ApiPropertyOptional({ example: 'main', description: "Defaults to the remote's default branch (its HEAD)." })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  @Matches(/^(?!-)(?!.*\.\.)(?!.*\/\/)(?!.*@\{)(?!.*\.lock(\/|$))(?!\/)[A-Za-z0-9._\-/]{1,200}(?<![./])$/, {
    message: 'defaultBranch must be a valid git branch name',
  })
  defaultBranch?: string;

  @ApiPropertyOptional({
    description: 'Personal access token (read, and write to push branches). Stored encrypted, never returned.',
    writeOnly: true,
  })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  @Matches(/^[\x21-\x7e]+$/, { message: 'accessToken must be printable ASCII without spaces' })
  accessToken?: string;
}
