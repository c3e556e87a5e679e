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

/**
 * Outgoing mail: SMTP through nodemailer when SMTP_URL is set; otherwise (development) the message,
 * links included, goes to the log so a developer can follow it.
 */
@Injectable()
export class MailService implements OnApplicationShutdown {
  private readonly logger = new Logger(MailService.name);
  private readonly smtpUrl?: string;
  private readonly from: string;
  /** Made on the first mail: most API processes go a long time without sending one (memory). */
  private transport?: Promise<Transporter>;

  constructor(config: ConfigService<AllConfig, true>) {
    const mail = config.get('mail', { infer: true });
    this.from = mail.from;
    this.smtpUrl = mail.smtpUrl;
  }

  async send(message: MailMessage): Promise<void> {
    const smtpUrl = this.smtpUrl;
    if (!smtpUrl) {
      this.logger.log(
        { to: message.to, subject: message.subject, text: message.text },
        'Mail (no SMTP_URL; logged, not sent)',
      );
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
      this.logger.error({ err: error, subject: message.subject }, 'Mail could not be sent'),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    (await this.transport?.catch(() => undefined))?.close();
  }
}
