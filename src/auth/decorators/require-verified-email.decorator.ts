import { SetMetadata } from '@nestjs/common';

export const REQUIRE_VERIFIED_EMAIL = 'quorum:requireVerifiedEmail';

/** The route needs a verified email address (403 EMAIL_NOT_VERIFIED otherwise). */
export const RequireVerifiedEmail = () => SetMetadata(REQUIRE_VERIFIED_EMAIL, true);
