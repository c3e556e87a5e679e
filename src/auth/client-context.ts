import type { Request } from 'express';
import type { ClientContext } from './sessions.service.js';

export function clientContext(req: Request): ClientContext {
  const userAgent = req.headers['user-agent'];
  return { ip: req.ip ?? null, userAgent: typeof userAgent === 'string' ? userAgent : null };
}
