import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'quorum:isPublic';

/** Marks a route (or controller) that needs no signed-in user. */
export const Public = () => SetMetadata(IS_PUBLIC, true);
