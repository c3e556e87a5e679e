import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  IsArray,
  IsDefined,
  IsNumber,
  IsOptional,
  Max,
  Min,
  ValidateIf,
  ValidationArguments,
  ValidatorConstraint,
  ValidatorConstraintInterface,
  Validate,
} from 'class-validator';

const MONEY = /^\d{1,10}(\.\d{1,8})?$/;

/** A non-negative USD amount with at most 8 decimals, as a JSON number or a decimal string. */
@ValidatorConstraint({ name: 'usdAmount' })
export class UsdAmount implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    if (typeof value === 'number') return Number.isFinite(value) && MONEY.test(String(value));
    return typeof value === 'string' && MONEY.test(value);
  }

  defaultMessage(args: ValidationArguments): string {
    return `${args.property} must be a non-negative USD amount with at most 8 decimals, or null`;
  }
}

export class UpdateBudgetDto {
  @ApiProperty({
    nullable: true,
    oneOf: [{ type: 'number' }, { type: 'string' }],
    description: 'Monthly limit in USD (number or decimal string, ≤ 8 decimals); null removes the limit.',
    example: '25.00',
  })
  @ValidateIf((o: UpdateBudgetDto) => o.monthlyLimitUsd !== null)
  @IsDefined({ message: 'monthlyLimitUsd is required (a USD amount, or null for no limit)' })
  @Validate(UsdAmount)
  monthlyLimitUsd: number | string | null;
}

export class BudgetResponseDto {
  @ApiProperty({ nullable: true, type: String, example: '25.00000000' })
  monthlyLimitUsd: string | null;

  @ApiProperty({ description: 'Settled spend this month (UTC).', example: '1.23400000' })
  spentUsd: string;

  @ApiProperty({ description: 'Held by model calls in flight.', example: '0.05000000' })
  reservedUsd: string;

  @ApiProperty({ nullable: true, type: String, example: '23.71600000' })
  remainingUsd: string | null;

  @ApiProperty({ format: 'date-time' })
  periodStart: string;

  @ApiProperty({ format: 'date-time' })
  periodEnd: string;
}

export class UpdateOrgBudgetDto {
  @ApiProperty({
    nullable: true,
    oneOf: [{ type: 'number' }, { type: 'string' }],
    description: 'Monthly limit in USD of every model call of the organization’s tasks; null: none.',
    example: '100.00',
  })
  @ValidateIf((o: UpdateOrgBudgetDto) => o.monthlyLimitUsd !== null)
  @IsDefined({ message: 'monthlyLimitUsd is required (a USD amount, or null for no limit)' })
  @Validate(UsdAmount)
  monthlyLimitUsd: number | string | null;

  @ApiProperty({
    nullable: true,
    oneOf: [{ type: 'number' }, { type: 'string' }],
    description: 'Monthly limit in USD for each member’s calls within the organization; null: none.',
    example: '25.00',
  })
  @ValidateIf((o: UpdateOrgBudgetDto) => o.memberMonthlyLimitUsd !== null)
  @IsDefined({ message: 'memberMonthlyLimitUsd is required (a USD amount, or null for no limit)' })
  @Validate(UsdAmount)
  memberMonthlyLimitUsd: number | string | null;

  @ApiPropertyOptional({
    type: [Number],
    description: 'Fractions of a limit at which budget.threshold_reached fires (each once a month).',
    example: [0.5, 0.8, 1],
  })
  @IsOptional()
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(10)
  @IsNumber({ maxDecimalPlaces: 3 }, { each: true })
  @Min(0.001, { each: true })
  @Max(1, { each: true })
  alertThresholds?: number[];
}

export class OrgBudgetResponseDto {
  @ApiProperty({ format: 'uuid' })
  orgId: string;

  @ApiProperty({ nullable: true, type: String, example: '100.00000000' })
  monthlyLimitUsd: string | null;

  @ApiProperty({ nullable: true, type: String, example: '25.00000000' })
  memberMonthlyLimitUsd: string | null;

  @ApiProperty({ type: [Number], example: [0.5, 0.8, 1] })
  alertThresholds: number[];

  @ApiProperty({ description: 'Settled spend of the organization’s tasks this month (UTC).' })
  spentUsd: string;

  @ApiProperty({ description: 'Held by model calls in flight.' })
  reservedUsd: string;

  @ApiProperty({ nullable: true, type: String })
  remainingUsd: string | null;

  @ApiProperty({ format: 'date-time' })
  periodStart: string;

  @ApiProperty({ format: 'date-time' })
  periodEnd: string;
}
