import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional } from 'class-validator';

export class UpdateProviderDto {
  @ApiPropertyOptional({ description: 'Skip this provider in every route, fallbacks included.' })
  @IsOptional()
  @IsBoolean()
  disabled?: boolean;

  @ApiPropertyOptional({
    description: 'Send every call to this provider while it can serve (forcing one un-forces the others).',
  })
  @IsOptional()
  @IsBoolean()
  forced?: boolean;
}

export class ProviderView {
  @ApiProperty({ example: 'anthropic' }) name!: string;
  @ApiProperty({ description: 'Configured (its key or base URL is set).' }) enabled!: boolean;
  @ApiProperty() disabled!: boolean;
  @ApiProperty() forced!: boolean;
  @ApiProperty({ enum: ['closed', 'open', 'half_open'] }) breaker!: string;
  @ApiProperty({ nullable: true, type: Number, description: 'Over the sliding window, all processes.' })
  latencyP50Ms!: number | null;
  @ApiProperty({ nullable: true, type: Number }) latencyP95Ms!: number | null;
  @ApiProperty({ example: '1.23450000', description: 'USD since UTC midnight, exact decimal string' })
  spentTodayUsd!: string;
}

export class ProviderListView {
  @ApiProperty({ type: [ProviderView] }) items!: ProviderView[];
}

export class OrgProviderView {
  @ApiProperty({ example: 'anthropic' }) name!: string;
  @ApiProperty({ description: 'Configured on this deployment (its key or base URL is set).' }) enabled!: boolean;
  @ApiProperty({ description: "The organization's switch: its calls skip this provider." }) disabled!: boolean;
  @ApiProperty({ description: "The organization's switch: its calls go to this provider while it can serve." })
  forced!: boolean;
  @ApiProperty({ description: 'Disabled for everyone by a deployment admin (the organization cannot undo it).' })
  disabledByAdmin!: boolean;
}

export class OrgProviderListView {
  @ApiProperty({ type: [OrgProviderView] }) items!: OrgProviderView[];
}
