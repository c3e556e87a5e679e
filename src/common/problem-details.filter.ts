import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger, NotFoundException } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ThrottlerException } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { DomainError } from './errors.js';
import { DEFAULT_CODES, PROBLEM_CONTENT_TYPE, ProblemDetails, problemType, statusTitle } from './problem-details.js';
import { allowedMethods } from './route-table.js';

interface BodyParserError {
  type?: string;
  status?: number;
  expose?: boolean;
}

/**
 * The one place that turns any thrown value into RFC 9457 problem details. Domain errors keep their
 * stable code; framework errors get a default code; anything else is a 500 whose internals stay in
 * the log, found again by the request id.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger(ProblemDetailsFilter.name);

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const ctx = host.switchToHttp();
    const request = ctx.getRequest<Request>();
    const response = ctx.getResponse<Response>();
    const problem = this.toProblem(exception, request, response);
    if (response.headersSent) {
      // A streaming answer (SSE, patch download) already started: all we can do is end it.
      response.end();
      return;
    }
    response.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
  }

  private toProblem(exception: unknown, request: Request, response: Response): ProblemDetails {
    const id: unknown = request.id ?? response.getHeader('x-request-id');
    const requestId = typeof id === 'string' || typeof id === 'number' ? String(id) : '';
    const base = (status: number, code: string, detail: string): ProblemDetails => ({
      type: problemType(code),
      title: statusTitle(status),
      status,
      detail,
      instance: request.originalUrl ?? request.url,
      code,
      requestId,
    });

    if (exception instanceof DomainError) {
      for (const [name, value] of Object.entries(exception.options.headers ?? {})) response.setHeader(name, value);
      const problem = base(exception.status, exception.code, exception.message);
      if (exception.options.errors) problem.errors = exception.options.errors;
      Object.assign(problem, exception.options.extra ?? {});
      if (exception.status >= 500 && !exception.options.expected)
        this.logger.error({ err: exception, requestId }, exception.message);
      return problem;
    }

    if (exception instanceof ThrottlerException) {
      // ThrottlerGuard has already set Retry-After (and the X-RateLimit-* headers).
      if (!response.getHeader('retry-after')) response.setHeader('Retry-After', '60');
      return base(429, 'RATE_LIMITED', 'Too many requests; try again later.');
    }

    if (exception instanceof NotFoundException && this.isUnmatchedRoute(exception)) {
      const path = new URL(request.originalUrl ?? request.url, 'http://localhost').pathname;
      const allowed = allowedMethods(this.adapterHost, path);
      if (allowed.length > 0) {
        response.setHeader('Allow', allowed.join(', '));
        return base(405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed here; use ${allowed.join(', ')}.`);
      }
      return base(404, 'NOT_FOUND', `No route for ${request.method} ${path}.`);
    }

    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      // Express's body-parser failures arrive wrapped by the adapter, the original as the cause.
      const cause = exception.cause as BodyParserError | undefined;
      if (cause?.type === 'entity.parse.failed' || (status === 400 && cause instanceof SyntaxError)) {
        return base(400, 'MALFORMED_JSON', 'The request body is not valid JSON.');
      }
      const code = DEFAULT_CODES[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'HTTP_ERROR');
      if (status >= 500) {
        this.logger.error({ err: exception, requestId }, 'HTTP exception');
        return base(status, code, 'An unexpected error occurred. Quote the request id when reporting it.');
      }
      const body = exception.getResponse();
      const detail =
        typeof body === 'object' && body !== null && 'message' in body
          ? [body.message].flat().join('; ')
          : exception.message;
      return base(status, code, String(detail));
    }

    const parserError = exception as BodyParserError;
    if (
      parserError &&
      typeof parserError === 'object' &&
      typeof parserError.status === 'number' &&
      parserError.expose
    ) {
      if (parserError.type === 'entity.too.large') {
        return base(413, 'PAYLOAD_TOO_LARGE', 'The request body is larger than this endpoint accepts.');
      }
      if (parserError.type === 'entity.parse.failed') {
        return base(400, 'MALFORMED_JSON', 'The request body is not valid JSON.');
      }
      const status = parserError.status;
      return base(status, DEFAULT_CODES[status] ?? 'BAD_REQUEST', statusTitle(status));
    }

    this.logger.error({ err: exception, requestId }, 'Unhandled error');
    return base(500, 'INTERNAL_ERROR', 'An unexpected error occurred. Quote the request id when reporting it.');
  }

  /** Nest's router raises "Cannot GET /x" when no route matched; a controller's 404 says something else. */
  private isUnmatchedRoute(exception: NotFoundException): boolean {
    return /^Cannot [A-Z]+ /.test(exception.message);
  }
}
