import { SetMetadata } from '@nestjs/common';
import type { AuthUser } from '../auth-user.js';

export const ROLES = 'quorum:roles';

/** Only users with one of these roles may call the route (403 FORBIDDEN otherwise). */
export const Roles = (...roles: AuthUser['role'][]) => SetMetadata(ROLES, roles);
