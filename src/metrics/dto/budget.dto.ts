import { ApiProperty } from '@nestjs/swagger';
import {
  IsDefined,
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
