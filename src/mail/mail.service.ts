import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Transporter } from 'nodemailer';
import type { AllConfig } from '#src/config/namespaces.js';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

const MAIL_REFUSED =
  'SMTP_URL is not set and NODE_ENV=production: no mail is sent (verification and password-reset mails are refused, never logged); set SMTP_URL=smtp://user:password@host:587';

/** Production without SMTP_URL: mail is refused rather than written to the log with its tokens. */
export class MailNotConfiguredError extends Error {
  constructor() {
    super(MAIL_REFUSED);
    this.name = 'MailNotConfiguredError';
  }
}

/**
 * A development mail as a person reads it, one field per line and every link on a line of its own
 * (so a terminal makes it clickable), instead of one escaped JSON string.
 */
export function readableMail(message: MailMessage): string {
  const body = message.text
    .trim()
    .split('\n')
    .flatMap((line) => line.split(/(https?:\/\/\S+)/).map((part) => part.trim()))
    .filter(Boolean)
    .map((line) => `  ${line}`);
  return [
    'Mail (SMTP_URL is not set: logged, not sent)',
    `  To: ${message.to}`,
    `  Subject: ${message.subject}`,
    '',
    ...body,
  ].join('\n');
}

/**
 * Outgoing mail: SMTP through nodemailer when SMTP_URL is set; otherwise (development) the message,
 * links included, goes to the log so a developer can follow it.
 */
@Injectable()
export class MailService implements OnApplicationShutdown {
  private readonly logger = new Logger(MailService.name);
  private readonly smtpUrl?: string;
  private readonly from: string;
  private readonly production: boolean;
  /** Made on the first mail: most API processes go a long time without sending one (memory). */
  private transport?: Promise<Transporter>;

  constructor(config: ConfigService<AllConfig, true>) {
    const mail = config.get('mail', { infer: true });
    this.from = mail.from;
    this.smtpUrl = mail.smtpUrl;
    this.production = config.get('app', { infer: true }).production;
    if (this.production && !this.smtpUrl) this.logger.warn(MAIL_REFUSED);
  }

  async send(message: MailMessage): Promise<void> {
    const smtpUrl = this.smtpUrl;
    if (!smtpUrl) {
      // Mail carries verification and reset tokens: only development may write it to the log.
      if (this.production) throw new MailNotConfiguredError();
      this.logger.log(readableMail(message));
      return;
    }
    this.transport ??= import('nodemailer').then(({ default: nodemailer }) => nodemailer.createTransport(smtpUrl));
    const info = await (await this.transport).sendMail({ from: this.from, ...message });
    this.logger.log({ messageId: info.messageId, subject: message.subject }, 'Mail sent');
  }

  /**
   * Sends without making the caller wait: answers to "forgot password" and the like must take the
   * same time whether or not a mail goes out (no account enumeration through timing).
   */
  sendInBackground(message: MailMessage): void {
    this.send(message).catch((error: unknown) =>
      error instanceof MailNotConfiguredError
        ? this.logger.error(`Mail "${message.subject}" not sent: ${error.message}`)
        : this.logger.error({ err: error, subject: message.subject }, 'Mail could not be sent'),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    (await this.transport?.catch(() => undefined))?.close();
  }
}
