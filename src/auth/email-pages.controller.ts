import { Controller, Get, HttpCode, Post, Query, Req, Res } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiExcludeController } from '@nestjs/swagger';
import { Throttle } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { Public } from '#src/common/decorators/public.decorator.js';
import { DomainError } from '#src/common/errors.js';
import type { AllConfig } from '#src/config/namespaces.js';
import { AccountService } from './account.service.js';
import { MAIL_THROTTLE, SIGN_IN_THROTTLE } from './auth-throttles.js';

/** The root paths these pages answer on (outside the API prefix), where mail links point without a web app. */
export const EMAIL_PAGE_PATHS = ['verify-email', 'reset-password'] as const;

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(title: string, body: string): string {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><meta name="referrer" content="no-referrer"><title>${escapeHtml(title)} · Quorum</title></head>\n<body><h1>${escapeHtml(title)}</h1>\n${body}\n</body></html>\n`;
}

const paragraph = (text: string) => `<p>${escapeHtml(text)}</p>`;

/** A form field's value from a urlencoded body: one short string, else undefined. */
function field(req: Request, name: string): string | undefined {
  const value = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' && value.length <= 1024 ? value : undefined;
}

/**
 * Minimal pages for the links in verification and reset mails when no web app is configured
 * (`WEB_APP_URL` unset), so a fresh install can verify an address with a browser alone. Opening a
 * link changes nothing (mail scanners open links); the button posts the form back here. With a web
 * app configured, the links point there, and these paths redirect to it.
 */
@ApiExcludeController()
@Public()
@Controller()
export class EmailPagesController {
  private readonly webAppUrl?: string;

  constructor(
    private readonly account: AccountService,
    config: ConfigService<AllConfig, true>,
  ) {
    const app = config.get('app', { infer: true });
    this.webAppUrl = app.webAppConfigured ? app.webAppUrl : undefined;
  }

  @Get('verify-email')
  verifyEmailPage(@Query('token') token: unknown, @Res() res: Response): void {
    if (this.redirected(res, 'verify-email', token)) return;
    if (typeof token !== 'string' || token === '') {
      this.send(res, 400, page('Verify your email', paragraph('This link has no token: open the link from the mail.')));
      return;
    }
    this.send(
      res,
      200,
      page(
        'Verify your email',
        `<form method="post" action="/verify-email"><input type="hidden" name="token" value="${escapeHtml(token)}"><button type="submit">Verify my email address</button></form>`,
      ),
    );
  }

  @Post('verify-email')
  @HttpCode(200)
  @Throttle(SIGN_IN_THROTTLE)
  async verifyEmail(@Req() req: Request, @Res() res: Response): Promise<void> {
    const token = field(req, 'token');
    try {
      if (!token)
        throw new DomainError('VALIDATION_FAILED', 'The form has no token: open the link from the mail.', 400);
      const user = await this.account.verifyEmail(token);
      this.send(
        res,
        200,
        page('Email verified', paragraph(`${user.email} is verified. You can now create and run tasks.`)),
      );
    } catch (error) {
      this.failed(res, 'Verify your email', error);
    }
  }

  @Get('reset-password')
  resetPasswordPage(@Query('token') token: unknown, @Res() res: Response): void {
    if (this.redirected(res, 'reset-password', token)) return;
    if (typeof token !== 'string' || token === '') {
      this.send(
        res,
        200,
        page(
          'Reset your password',
          `${paragraph('Enter your email address: a mail with a reset link will follow if an account has it.')}<form method="post" action="/reset-password"><label>Email <input type="email" name="email" required></label> <button type="submit">Send the link</button></form>`,
        ),
      );
      return;
    }
    this.send(
      res,
      200,
      page(
        'Reset your password',
        `<form method="post" action="/reset-password"><input type="hidden" name="token" value="${escapeHtml(token)}"><label>New password <input type="password" name="password" autocomplete="new-password" required></label> <button type="submit">Set the new password</button></form>`,
      ),
    );
  }

  @Post('reset-password')
  @HttpCode(200)
  @Throttle(MAIL_THROTTLE)
  async resetPassword(@Req() req: Request, @Res() res: Response): Promise<void> {
    const token = field(req, 'token');
    const email = field(req, 'email');
    try {
      if (token) {
        await this.account.resetPassword(token, field(req, 'password') ?? '');
        this.send(
          res,
          200,
          page('Password changed', paragraph('Your password is changed and every session was signed out.')),
        );
      } else if (email) {
        await this.account.forgotPassword(email.trim().toLowerCase());
        this.send(
          res,
          200,
          page('Check your mail', paragraph('If an account has this address, a mail with a reset link is on its way.')),
        );
      } else {
        throw new DomainError('VALIDATION_FAILED', 'Send a token and a new password, or an email address.', 400);
      }
    } catch (error) {
      this.failed(res, 'Reset your password', error);
    }
  }

  /** With a web app, its own page handles the link (the token travels on). */
  private redirected(res: Response, path: string, token: unknown): boolean {
    if (!this.webAppUrl) return false;
    const target = new URL(`${this.webAppUrl}/${path}`);
    if (typeof token === 'string') target.searchParams.set('token', token);
    res.redirect(302, target.toString());
    return true;
  }

  /** A refused token or password is said on the page; anything else goes to the problem-details filter. */
  private failed(res: Response, title: string, error: unknown): void {
    if (!(error instanceof DomainError) || error.status >= 500) throw error;
    const details = error.options.errors?.map((e) => `${e.field}: ${e.message}`).join('; ');
    this.send(res, error.status, page(title, paragraph(details ? `${error.message} (${details})` : error.message)));
  }

  private send(res: Response, status: number, html: string): void {
    res.status(status).type('html').send(html);
  }
}
