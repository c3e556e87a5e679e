import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '#src/config/namespaces.js';
import { MailNotConfiguredError, MailService, readableMail } from './mail.service.js';

function service(production: boolean, smtpUrl?: string): MailService {
  const values: Record<string, unknown> = {
    mail: { smtpUrl, from: 'Quorum <no-reply@quorum.local>' },
    app: { production },
  };
  return new MailService({ get: (key: string) => values[key] } as unknown as ConfigService<AllConfig, true>);
}

describe('MailService without SMTP_URL', () => {
  it('development writes the mail readably: subject, recipient, and the link on a line of its own', () => {
    const text = readableMail({
      to: 'ada@example.com',
      subject: 'Verify your email address for Quorum',
      text: 'Welcome.\n\nConfirm by opening this link:\nhttp://localhost:3000/verify-email?token=abc123\n\nIt expires.',
    });
    const lines = text.split('\n');
    expect(lines[0]).toBe('Mail (SMTP_URL is not set: logged, not sent)');
    expect(lines).toContain('  To: ada@example.com');
    expect(lines).toContain('  Subject: Verify your email address for Quorum');
    expect(lines).toContain('  http://localhost:3000/verify-email?token=abc123');
  });

  it('puts a link that ends a sentence on its own line too', () => {
    const lines = readableMail({ to: 'a@b.c', subject: 's', text: 'Reset now: http://x.test/reset-password\n' }).split(
      '\n',
    );
    expect(lines.slice(-2)).toEqual(['  Reset now:', '  http://x.test/reset-password']);
  });

  it('production refuses to send (the tokens never reach the log) with one clear line', async () => {
    const mail = service(true);
    await expect(mail.send({ to: 'a@b.c', subject: 's', text: 'token=secret' })).rejects.toThrow(
      MailNotConfiguredError,
    );
    await expect(mail.send({ to: 'a@b.c', subject: 's', text: 'token=secret' })).rejects.toThrow(
      'SMTP_URL is not set and NODE_ENV=production: no mail is sent (verification and password-reset mails are refused, never logged); set SMTP_URL=smtp://user:password@host:587',
    );
  });

  it('development sends nothing and does not fail', async () => {
    await expect(service(false).send({ to: 'a@b.c', subject: 's', text: 't' })).resolves.toBeUndefined();
  });
});
