import type { NextFunction, Request, Response } from 'express';
import { DomainError } from './errors.js';

const JSON_TYPES = ['application/json', 'application/*+json'];

export class UnsupportedMediaTypeError extends DomainError {
  constructor(contentType: string | undefined) {
    super(
      'UNSUPPORTED_MEDIA_TYPE',
      contentType
        ? `This route takes JSON, not ${contentType.split(';')[0].trim()}: send application/json.`
        : 'The body has no Content-Type: send application/json.',
      415,
    );
  }
}

/**
 * The JSON routes take JSON only: a body of any other type (an HTML form's urlencoded or multipart
 * post, text, none declared) is refused with 415 before it is parsed, so a cross-site form cannot
 * reach a route and a client that forgot the header hears why, not a list of missing fields.
 * A request without a body passes: none at all (`req.is` answers null) or an empty one
 * (`Content-Length: 0`, what fetch and curl send for a bodiless POST).
 */
export function refuseNonJsonBodies(req: Request, _res: Response, next: NextFunction): void {
  const empty = req.headers['content-length'] === '0' && req.headers['transfer-encoding'] === undefined;
  next(!empty && req.is(JSON_TYPES) === false ? new UnsupportedMediaTypeError(req.headers['content-type']) : undefined);
}
