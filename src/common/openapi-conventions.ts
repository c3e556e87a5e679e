import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiProperty, ApiPropertyOptional, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { PROBLEM_CONTENT_TYPE } from './problem-details.js';

/**
 * How every operation of the OpenAPI document is described (docs/api.md, "Documenting a route").
 *
 * - operationId: `<controller>.<method>` (TasksController.create → `tasks.create`), made by
 *   {@link operationIdFor}; never set by hand, so it stays stable while the method keeps its name.
 * - summary: `@ApiOperation({ summary })` on every route (the spec test refuses one without).
 * - problems: the answers every route of a kind shares (401 and 403 CSRF when signed in, 400/413/415
 *   with a body, 404 with a path parameter, 429, 500) are added by the document builder; a route's
 *   own refusals are declared with {@link ApiProblem}, e.g. `@ApiProblem(409, 'RUN_ACTIVE', 'A run is active.')`.
 * - security: added per operation from `@Public()`; a signed-in route accepts a Bearer token, or the
 *   access cookie (plus the CSRF header on unsafe methods).
 */

export class FieldErrorDto {
  @ApiProperty({ example: 'title' })
  field: string;

  @ApiProperty({ example: 'title must be shorter than or equal to 200 characters' })
  message: string;
}

/** RFC 9457 problem details: the body of every error answer (media type application/problem+json). */
export class ProblemDetailsDto {
  @ApiProperty({ example: 'https://quorum.dev/problems/validation-failed' })
  type: string;

  @ApiProperty({ example: 'Bad Request' })
  title: string;

  @ApiProperty({ example: 400 })
  status: number;

  @ApiProperty({ example: 'The request is not valid.' })
  detail: string;

  @ApiProperty({ example: '/api/v1/tasks' })
  instance: string;

  @ApiProperty({ description: 'Stable machine-readable code (e.g. VALIDATION_FAILED, RUN_ACTIVE).' })
  code: string;

  @ApiProperty({ description: 'Echoes the X-Request-Id header; quote it when reporting a problem.' })
  requestId: string;

  @ApiPropertyOptional({ type: [FieldErrorDto], description: 'One entry per refused field (400 VALIDATION_FAILED).' })
  errors?: FieldErrorDto[];
}

/** What each status means when a route does not say more. */
export const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'VALIDATION_FAILED (or BAD_REQUEST): the request is not valid; `errors` lists the fields.',
  401: 'UNAUTHENTICATED: no valid access token (Bearer header or access_token cookie).',
  402: 'BUDGET_EXCEEDED: a spending limit would be passed.',
  403: 'FORBIDDEN: signed in, but not allowed (CSRF_TOKEN_INVALID without a valid X-CSRF-Token header in cookie mode).',
  404: 'NOT_FOUND: no such resource, or not yours.',
  409: 'CONFLICT: the resource is not in a state that allows this.',
  413: 'PAYLOAD_TOO_LARGE: the body is over the limit.',
  415: 'UNSUPPORTED_MEDIA_TYPE: send the body as application/json.',
  422: 'UNPROCESSABLE_ENTITY: understood, but cannot be done.',
  429: 'RATE_LIMITED: too many requests; see Retry-After.',
  500: 'INTERNAL_ERROR: something broke; the requestId finds it in the logs.',
  503: 'SERVICE_UNAVAILABLE: a dependency is down or the server is busy; see Retry-After.',
};

/** The OpenAPI response object of a problem answer. */
export function problemResponse(description: string) {
  return {
    description,
    content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: getSchemaPath(ProblemDetailsDto) } } },
  };
}

/**
 * Declares a problem answer of this route: `@ApiProblem(409, 'RUN_ACTIVE', 'Another run is active.')`.
 * One decorator per status (a second one on the same status replaces the first): list several codes
 * of one status together, `@ApiProblem(401, ['INVALID_REFRESH_TOKEN', 'TOKEN_REUSED'])`.
 */
export function ApiProblem(
  status: number,
  codes?: string | string[],
  description?: string,
): MethodDecorator & ClassDecorator {
  const list = codes === undefined ? [] : Array.isArray(codes) ? codes : [codes];
  const text = description ?? PROBLEM_DESCRIPTIONS[status] ?? 'Problem details.';
  return applyDecorators(
    ApiExtraModels(ProblemDetailsDto),
    ApiResponse({ status, ...problemResponse(list.length > 0 ? `${list.join(' | ')}: ${text}` : text) }),
  );
}

/** `TasksController` → `tasks`, `OAuthAccountsController` → `oauthAccounts`, `TwoFactorController` → `twoFactor`. */
export function controllerTag(controllerKey: string): string {
  const base = controllerKey.replace(/Controller$/, '');
  // An acronym-led word is lowered whole (OAuth → oauth), any other only its first letter.
  const head = /^[A-Z]{2,}[a-z]*/.exec(base)?.[0] ?? base.charAt(0);
  return head.toLowerCase() + base.slice(head.length);
}

/** The stable operationId of a controller method: `tasks.create`, `runs.stream`. */
export function operationIdFor(controllerKey: string, methodKey: string): string {
  return `${controllerTag(controllerKey)}.${methodKey}`;
}
