import type { AuthorityContext } from '../context.ts';
import type { ApiRequest, ApiResponse, Route } from '../http/router.ts';
import { PortwardenError } from '../../shared/errors.ts';
import { loadConsoleAssets, type ConsoleAsset } from './assets.ts';

/**
 * Everything the console loads comes from this authority, no script or style is inline, and
 * no other site may frame it or learn where it came from.
 */
export const consoleHeaders: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  // revalidate every load: a new authority version serves new files at once, an unchanged one answers 304
  'cache-control': 'no-cache',
};

/**
 * The web console at `/ui/`: static files (read once at start), public like the JWKS, since
 * everything they show comes from the `/v1` API with the bearer token the person signs in with.
 * `/` and `/ui` lead to it.
 */
export function consoleRoutes(_ctx: AuthorityContext): Route[] {
  const assets = loadConsoleAssets();
  const serve = (name: string, req: ApiRequest): ApiResponse => {
    const asset = assets.get(name);
    if (!asset) throw new PortwardenError('not_found', `the console has no file ${name}`);
    return answer(asset, req.headers['if-none-match']);
  };
  const redirect = (path: string): Route => ({
    method: 'GET',
    path,
    access: 'public',
    async handler() {
      return { status: 308, headers: { location: '/ui/' }, text: '' };
    },
  });
  return [
    redirect('/'),
    redirect('/ui'),
    { method: 'GET', path: '/ui/', access: 'public', handler: async (req) => serve('index.html', req) },
    { method: 'GET', path: '/ui/{file}', access: 'public', handler: async (req) => serve(req.params.file ?? '', req) },
  ];
}

function answer(asset: ConsoleAsset, ifNoneMatch: string | undefined): ApiResponse {
  const headers = { ...consoleHeaders, etag: asset.etag, 'content-type': asset.contentType };
  if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => tag.trim() === asset.etag)) return { status: 304, headers, text: '' };
  return { headers, text: asset.text };
}
