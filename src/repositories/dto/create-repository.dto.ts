import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, IsUUID, Matches, MaxLength, MinLength, ValidateIf } from 'class-validator';

/** One line, no NUL: a command line for `/bin/sh -c` in the sandbox. */
const COMMAND = /^[^\0\r\n]+$/;

class RepositoryBaseDto {
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

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: 'npm ci',
    description:
      'Environment setup, run once per run before the agents, in the sandbox with network and without secrets; what it installs (node_modules, .venv) is cached per lock-file hash. Unset: detected (package-lock.json → npm ci, package.json → npm install, requirements.txt → a virtualenv + pip install -r requirements.txt).',
    maxLength: 2000,
  })
  @IsOptional()
  @ValidateIf((_o, v) => v !== null)
  @IsString()
  @MinLength(1)
  @MaxLength(2000)
  @Matches(COMMAND, { message: 'setupCommand must be one line' })
  setupCommand?: string | null;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: 'npm test',
    description:
      "The command whose exit code judges a run (a shell command line, in the sandbox without network). A task's config.testCommand takes precedence. Unset: package.json scripts.test → npm test, else the language default.",
    maxLength: 2000,
  })
  @IsOptional()
  @ValidateIf((_o, v) => v !== null)
  @IsString()
  @MinLength(1)
  @MaxLength(2000)
  @Matches(COMMAND, { message: 'testCommand must be one line' })
  testCommand?: string | null;
}

export class CreateRepositoryDto extends RepositoryBaseDto {
  @ApiProperty({
    example: 'https://github.com/acme/widgets.git',
    description: 'An https URL; a local path or file:// URL only when the server allows local repositories.',
    maxLength: 2048,
  })
  @IsString()
  @MinLength(1)
  @MaxLength(2048)
  url: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'Add it to this organization (admin or above).' })
  @IsOptional()
  @IsUUID()
  orgId?: string;
}

/** `null` clears a command (it is detected again); an omitted field is left as it is. */
export class UpdateRepositoryDto extends RepositoryBaseDto {}
