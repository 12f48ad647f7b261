import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

/** Where the page lives; the demo prints http://<api>/review, so the path is part of the interface. */
export const REVIEW_PATH = '/review';

/**
 * The page may load only its own script and stylesheet and talk only to this origin: no inline
 * script or style (so markup injected through a plan's text could not run), no framing, no forms
 * posted anywhere. The SVG chart is built with DOM calls, which the policy allows.
 */
export const REVIEW_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const ASSETS: Record<string, { file: string; type: string }> = {
  [REVIEW_PATH]: { file: 'index.html', type: 'text/html; charset=utf-8' },
  [`${REVIEW_PATH}/review.js`]: { file: 'review.js', type: 'text/javascript; charset=utf-8' },
  [`${REVIEW_PATH}/review.css`]: { file: 'review.css', type: 'text/css; charset=utf-8' },
};

/**
 * Serves the plan review page: static files read once at start (no build step, nothing from a CDN:
 * the machines may be offline). Public, because the page holds no data; everything it shows comes
 * from the /v1 routes with the key the user types, under that key's role.
 */
export function registerReviewPage(app: FastifyInstance): void {
  for (const [url, { file, type }] of Object.entries(ASSETS)) {
    const body = readFileSync(new URL(file, import.meta.url));
    app.get(url, { schema: { hide: true } }, async (_req, reply) => reply
      .type(type)
      .header('content-security-policy', REVIEW_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('x-frame-options', 'DENY')
      .header('referrer-policy', 'no-referrer')
      // Revalidate each time: a new version of the page must never run against an old script.
      .header('cache-control', 'no-cache')
      .send(body));
  }
}
