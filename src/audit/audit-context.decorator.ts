import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { principalOf, PrincipalRequest } from '#src/auth/principal.js';
import { actorOf, AuditActor, auditClient } from './audit.service.js';

/** Who acts and from where, ready to spread into `audit.record({...ctx, action, target})`. */
export interface AuditContext {
  actor: AuditActor;
  ip?: string | null;
  userAgent?: string | null;
}

/** `@Audit() ctx: AuditContext` in a controller: the caller as an audit actor, with its IP and user agent. */
export const Audit = createParamDecorator((_data: unknown, context: ExecutionContext): AuditContext => {
  const req = context.switchToHttp().getRequest<Request & PrincipalRequest>();
  return { actor: actorOf(principalOf(req)), ...auditClient(req) };
});
