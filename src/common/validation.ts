import { ValidationError, ValidationPipe } from '@nestjs/common';
import { FieldError, ValidationFailedError } from './errors.js';

/** The largest value of a PostgreSQL `integer` column: numeric input stored or compared there stays below it. */
export const PG_INT_MAX = 2_147_483_647;

/**
 * Which failed constraint speaks for a field, first to last: a field that is not there at all, then
 * the wrong type, then empty, then any other check of what it holds (format, length, range…).
 */
const TYPE_CHECKS = new Set([
  'isString',
  'isBoolean',
  'isInt',
  'isNumber',
  'isArray',
  'isObject',
  'isDate',
  'isDateString',
  'isEnum',
  'isIn',
  'nestedValidation',
]);
function rank(constraint: string): number {
  if (constraint === 'whitelistValidation' || constraint === 'isDefined') return 0;
  if (TYPE_CHECKS.has(constraint)) return 1;
  if (constraint === 'isNotEmpty' || constraint === 'arrayNotEmpty') return 2;
  return 3;
}

/**
 * One error per field: a required field that is missing (undefined or null) is "is required", not
 * the three or four checks its decorators stack (IsString, IsNotEmpty, MaxLength…); otherwise the
 * most basic check that failed (type before emptiness before format and length), so the client
 * fixes one thing at a time in a sensible order.
 */
function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const constraints = Object.entries(error.constraints ?? {});
    const own: FieldError[] = [];
    if (constraints.some(([name]) => name === 'whitelistValidation')) {
      own.push({ field, message: 'is not an accepted field' });
    } else if (constraints.length > 0 && (error.value === undefined || error.value === null)) {
      own.push({ field, message: `${field} is required` });
    } else if (constraints.length > 0) {
      const [, message] = constraints.reduce((best, next) => (rank(next[0]) < rank(best[0]) ? next : best));
      own.push({ field, message });
    }
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** Whitelist + forbid unknown fields + transform, with a problem-details answer naming each field. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    // The value is needed to tell a missing field from a wrong one; it never reaches the answer.
    validationError: { target: false, value: true },
    exceptionFactory: (errors) => new ValidationFailedError(flatten(errors)),
  });
}
