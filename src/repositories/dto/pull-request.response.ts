import { ApiProperty } from '@nestjs/swagger';

export class PullRequestResponse {
  @ApiProperty({ example: 'https://github.com/acme/widgets/pull/42' })
  url: string;

  @ApiProperty({ example: 42 })
  number: number;
}
