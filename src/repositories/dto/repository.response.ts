import { ApiProperty } from '@nestjs/swagger';
import type { Repository } from '../entities/repository.entity.js';

export class RepositoryResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'https://github.com/acme/widgets.git' })
  url: string;

  @ApiProperty({ example: 'acme/widgets' })
  name: string;

  @ApiProperty({ example: 'main' })
  defaultBranch: string;

  @ApiProperty({ description: 'Whether an access token is stored (the token itself is never returned).' })
  hasAccessToken: boolean;

  @ApiProperty({ type: String, nullable: true, example: 'npm ci', description: 'null: detected at run time.' })
  setupCommand: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'npm test', description: 'null: detected at run time.' })
  testCommand: string | null;

  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'The organization it belongs to.' })
  orgId: string | null;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt: string;

  static of(repository: Repository): RepositoryResponse {
    return {
      id: repository.id,
      url: repository.url,
      name: repository.name,
      defaultBranch: repository.defaultBranch,
      hasAccessToken: repository.accessTokenEncrypted !== null,
      setupCommand: repository.setupCommand,
      testCommand: repository.testCommand,
      orgId: repository.orgId,
      createdAt: repository.createdAt.toISOString(),
      updatedAt: repository.updatedAt.toISOString(),
    };
  }
}

export class RepositoryPageResponse {
  @ApiProperty({ type: [RepositoryResponse] })
  items: RepositoryResponse[];

  @ApiProperty({ type: String, nullable: true })
  nextCursor: string | null;
}
