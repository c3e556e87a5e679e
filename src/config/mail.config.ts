import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { envUrl, parseEnv } from './env.js';

export const mailConfig = registerAs('mail', () => {
  const env = parseEnv({
    SMTP_URL: envUrl(['smtp', 'smtps']).optional(),
    MAIL_FROM: z.string().optional().default('Quorum <no-reply@quorum.local>'),
  });
  return { smtpUrl: env.SMTP_URL, from: env.MAIL_FROM };
});
export type MailConfig = ReturnType<typeof mailConfig>;
