import { ApiProblem } from '#src/common/openapi-conventions.js';
import { Controller, Get, Logger, Param, Query, Req, Res } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiFoundResponse, ApiNotFoundResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '#src/common/decorators/public.decorator.js';
import type { AllConfig } from '#src/config/namespaces.js';
import { cookie } from '../auth-cookies.js';
import { clientContext } from '../client-context.js';
import type { OAuthProvider } from '../entities/oauth-account.entity.js';
import { ApiKeyNotAllowedError } from '../api-keys/api-keys.errors.js';
import { JwtAuthGuard } from '../guards/jwt-auth.guard.js';
import { OAUTH_BINDING_COOKIE, OAuthStateStore } from './oauth-state.store.js';
import { OAuthFlowError } from './oauth.errors.js';
import { OAuthService } from './oauth.service.js';

/**
 * Browser redirects to and from the providers, served at the root (`/oauth/...`, outside
 * /api/v1). Outcomes reach the web app as `${WEB_APP_URL}/oauth/complete?code=…` (one-time code
 * for POST /api/v1/auth/oauth/exchange), `?linked=<provider>` or `?error=<code>`.
 */
@ApiTags('oauth')
@Public()
@Controller('oauth')
export class OAuthController {
  private readonly logger = new Logger(OAuthController.name);
  private readonly webAppUrl: string;
  private readonly secureCookies: boolean;

  constructor(
    private readonly oauth: OAuthService,
    private readonly states: OAuthStateStore,
    private readonly authenticator: JwtAuthGuard,
    config: ConfigService<AllConfig, true>,
  ) {
    const app = config.get('app', { infer: true });
    this.webAppUrl = app.webAppUrl;
    this.secureCookies = app.production;
  }

  @Get(':provider')
  @ApiQuery({
    name: 'link',
    required: false,
    type: String,
    description: '`true`: link the provider to the signed-in user.',
  })
  @ApiFoundResponse({ description: 'Redirect to the provider with state and PKCE (S256).' })
  @ApiNotFoundResponse({ description: 'Unknown provider, or no credentials configured for it.' })
  @ApiOperation({ summary: 'Start an OAuth sign-in (or, with ?link=true, link a provider): redirect to the provider' })
  @ApiProblem(404, 'OAUTH_PROVIDER_NOT_FOUND', 'Unknown provider, or no credentials configured for it.')
  async start(
    @Param('provider') name: string,
    @Query('link') link: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const provider = this.oauth.provider(name);
    const linker = link === 'true' ? await this.authenticator.authenticate(req) : undefined;
    // Linking a sign-in method is an account action: a person's session, never an API key.
    if (linker?.apiKey) throw new ApiKeyNotAllowedError();
    const linkUserId = linker?.id;
    const { url, binding } = await provider.begin(req, { linkUserId });
    res.cookie(OAUTH_BINDING_COOKIE, binding, {
      httpOnly: true,
      secure: this.secureCookies,
      sameSite: 'lax',
      path: '/oauth',
      maxAge: this.states.ttlSeconds * 1000,
    });
    res.redirect(302, url);
  }

  @Get(':provider/callback')
  @ApiFoundResponse({ description: 'Redirect to the web app with ?code=, ?linked= or ?error=.' })
  @ApiOperation({
    summary: "The provider's redirect back: ends at WEB_APP_URL/oauth/complete with ?code= (or ?linked=, ?error=)",
  })
  @ApiProblem(404, 'OAUTH_PROVIDER_NOT_FOUND', 'Unknown provider, or no credentials configured for it.')
  async callback(@Param('provider') name: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const provider = this.oauth.provider(name);
    const complete = new URL('/oauth/complete', `${this.webAppUrl}/`);
    try {
      const { identity, flow } = await provider.complete(req, cookie(req, OAUTH_BINDING_COOKIE));
      const outcome = await this.oauth.completeSignIn(
        name as OAuthProvider,
        identity,
        flow.linkUserId,
        clientContext(req),
      );
      if (outcome.code) complete.searchParams.set('code', outcome.code);
      else complete.searchParams.set('linked', name);
    } catch (error) {
      const code = error instanceof OAuthFlowError ? error.code : 'server_error';
      if (code === 'server_error' || code === 'provider_error') {
        this.logger.warn({ err: error, provider: name }, 'OAuth callback failed');
      }
      complete.searchParams.set('error', code);
    }
    res.clearCookie(OAUTH_BINDING_COOKIE, {
      httpOnly: true,
      secure: this.secureCookies,
      sameSite: 'lax',
      path: '/oauth',
    });
    res.redirect(302, complete.href);
  }
}
