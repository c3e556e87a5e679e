import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { bareHostname, ResolvedTarget } from './url-guard.js';

export const RESPONSE_EXCERPT_BYTES = 1024;

export interface WebhookSendResult {
  /** 2xx: the receiver took it. Anything else (3xx included: redirects are not followed) is a failure. */
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  responseBody: string | null;
  error: string | null;
}

export interface WebhookRequest {
  url: URL;
  /** The address the guard checked; the socket connects to it and nothing else. */
  target: ResolvedTarget;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

/** A lookup that answers with the pinned address whatever it is asked, so there is no second DNS query. */
function pinnedLookup(target: ResolvedTarget): LookupFunction {
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  }) as LookupFunction;
}

/**
 * POSTs one webhook attempt with node:http(s). The Host header and TLS SNI/certificate check use the
 * URL's hostname while the TCP connection goes to the pinned address. Reads at most 1 KB of the
 * answer; the whole exchange is bounded by `timeoutMs`.
 */
@Injectable()
export class WebhookHttpClient implements OnModuleDestroy {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256 });

  send(request: WebhookRequest): Promise<WebhookSendResult> {
    const { url, target, headers, body, timeoutMs } = request;
    const secure = url.protocol === 'https:';
    const hostname = bareHostname(url);
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);

    return new Promise((resolve) => {
      let settled = false;
      let statusCode: number | null = null;
      const chunks: Buffer[] = [];
      let size = 0;
      // PostgreSQL text cannot hold NUL; the excerpt is for people, so it is dropped.
      const excerpt = () =>
        Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_BYTES).toString('utf8').replaceAll('\u0000', '') || null;
      const finish = (ok: boolean, error: string | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ ok, statusCode, responseBody: excerpt(), error, durationMs: elapsed() });
      };
      const answered = () => {
        const code = statusCode ?? 0;
        if (code >= 200 && code < 300) finish(true, null);
        else finish(false, code >= 300 && code < 400 ? `redirect (HTTP ${code}) not followed` : `HTTP ${code}`);
      };
      const options: https.RequestOptions = {
        method: 'POST',
        protocol: url.protocol,
        // An IP literal is connected to directly (node skips lookup for it); a name goes through the pin.
        host: isIP(hostname) ? target.address : hostname,
        port: url.port || (secure ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'Quorum-Webhooks/1.0',
        },
        lookup: pinnedLookup(target),
        agent: secure ? this.httpsAgent : this.httpAgent,
        ...(secure && !isIP(hostname) ? { servername: hostname } : {}),
      };
      const req = (secure ? https : http).request(options, (res) => {
        statusCode = res.statusCode ?? 0;
        res.on('data', (chunk: Buffer) => {
          if (size >= RESPONSE_EXCERPT_BYTES) return;
          chunks.push(chunk);
          size += chunk.length;
          if (size >= RESPONSE_EXCERPT_BYTES) {
            // Enough for the log; the rest is not downloaded.
            answered();
            res.destroy();
          }
        });
        res.on('end', answered);
        res.on('error', (error) => finish(false, error.message));
      });
      const timer = setTimeout(() => {
        finish(false, `timed out after ${timeoutMs} ms`);
        req.destroy();
      }, timeoutMs);
      req.on('error', (error: NodeJS.ErrnoException) => {
        finish(
          false,
          error.code && !error.message.includes(error.code) ? `${error.code}: ${error.message}` : error.message,
        );
      });
      req.end(body);
    });
  }

  onModuleDestroy(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
