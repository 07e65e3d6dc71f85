// The express application: security headers, bounded JSON bodies, authentication, the
// authorization decision (pure/authz.ts), schema validation (contract/schema.ts) and the
// route handlers (handlers.ts). Every route of contract/routes.ts is mounted here, and only
// those; anything else under /api is a coded 404.
import express, { type NextFunction, type Request, type Response } from 'express';
import { HakitError } from '../../errors/catalogue';
import { API_BASE } from '../contract/version';
import { COMMAND_ACCESS, METRICS_ACCESS, METRICS_PATH, ROUTES, type RouteSpec } from '../contract/routes';
import { coerceQuery, validate, type JsonSchema } from '../contract/pure/schema';
import type { ModuleCommandKind } from '../contract/pure/types';
import { authorize, type Principal } from '../pure/authz';
import { authenticate, type AuthDeps, type Authenticated } from './auth';
import { H_NODE } from './node-auth';
import { errorBodyOf } from './http-errors';
import { consoleStatic } from './console-static';
import type { Handlers, RouteContext } from './handlers';

/** Bodies are small JSON objects; anything bigger is refused before parsing. */
export const MAX_BODY_BYTES = 64 * 1024;
/** Large bodies (module packages, RouteSpec.max_body_bytes) read at once; more wait their turn (503). */
export const MAX_BIG_BODIES_IN_FLIGHT = 2;

interface RawReq extends Request {
  raw_body?: Buffer;
  auth?: Authenticated;
}

function send(res: Response, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.status(status).json(body);
}

function fail(res: Response, e: unknown): void {
  const { status, body } = errorBodyOf(e);
  send(res, status, body);
}

function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Strict-Transport-Security', 'max-age=31536000');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Content-Security-Policy', "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  res.setHeader('Cache-Control', 'no-store');
  next();
}

function checkSchema(what: string, schema: JsonSchema, value: unknown): void {
  const issues = validate(schema, value);
  if (issues.length > 0) {
    const shown = issues.slice(0, 5).map((i) => `${what}${i.at || ''}: ${i.message}`).join('; ');
    throw new HakitError('HAKIT_E_API_BAD_REQUEST', shown + (issues.length > 5 ? ` (and ${issues.length - 5} more)` : ''), 'API request');
  }
}

function principalOf(req: RawReq): Principal {
  const who = req.auth?.who;
  if (!who || typeof who === 'string') throw new HakitError('HAKIT_E_AUTH_REQUIRED', 'not authenticated', 'API');
  return who;
}

export interface AppDeps {
  readonly auth: AuthDeps;
  readonly handlers: Handlers;
  /** The home page until the console is served. */
  readonly home: () => string;
  readonly metrics: () => Promise<string>;
  /** Counts answers by status, for /metrics. */
  readonly count: (status: number) => void;
}

export function buildApp(d: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(securityHeaders);
  app.use((req, res, next) => {
    res.on('finish', () => d.count(res.statusCode));
    next();
  });

  // Bodies: JSON only, bounded, raw bytes kept for inter-node signatures. A route that
  // carries a module package has its own, larger bound (RouteSpec.max_body_bytes).
  const jsonParser = (limit: number) =>
    express.json({
      limit,
      strict: true,
      type: () => true,
      verify: (req, _res, buf) => {
        (req as RawReq).raw_body = Buffer.from(buf);
      },
    });
  const defaultParser = jsonParser(MAX_BODY_BYTES);
  const bigBodies = ROUTES.filter((r) => r.max_body_bytes !== undefined).map((r) => ({ route: r, path: pathRegex(API_BASE + r.path), limit: r.max_body_bytes as number, parser: jsonParser(r.max_body_bytes as number) }));
  const bigRouteOf = (req: Request) => bigBodies.find((b) => b.route.method === req.method && b.path.test(req.path));
  const limitOf = (req: Request): number => bigRouteOf(req)?.limit ?? MAX_BODY_BYTES;
  let big_bodies_in_flight = 0;
  app.use((req, res, next) => {
    const big = bigRouteOf(req);
    if (!big) return defaultParser(req, res, next);
    // A large body is read only for a caller who may send it, and only a few at once: the
    // caller is known from the headers (a session or an API key with the route's role; a
    // peer node's signature covers the body, so its check waits for it and the count of
    // large bodies in flight bounds what forged node headers can make us hold).
    const refusal = bigBodyRefusal(d.auth, big.route, req);
    if (refusal) return send(res, refusal.status, { error: { code: refusal.code, message: refusal.message } });
    if (big_bodies_in_flight >= MAX_BIG_BODIES_IN_FLIGHT) return fail(res, new HakitError('HAKIT_E_API_TOO_BUSY', `${MAX_BIG_BODIES_IN_FLIGHT} module packages are being received; send this one again later`, 'API request'));
    big_bodies_in_flight++;
    let released = false;
    const release = (): void => {
      if (!released) big_bodies_in_flight--;
      released = true;
    };
    res.on('finish', release);
    res.on('close', release);
    big.parser(req, res, next);
  });
  app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    const t = (err as { type?: string }).type;
    if (t === 'entity.too.large') return fail(res, new HakitError('HAKIT_E_API_BODY_TOO_BIG', `bodies of ${req.method} ${req.path.slice(0, 200)} are at most ${limitOf(req)} bytes`, 'API request'));
    if (t === 'entity.parse.failed') return fail(res, new HakitError('HAKIT_E_API_BAD_JSON', 'the body is not valid JSON', 'API request'));
    if (t === 'encoding.unsupported' || t === 'charset.unsupported') return fail(res, new HakitError('HAKIT_E_API_MEDIA_TYPE', 'bodies are UTF-8 JSON', 'API request'));
    if (t === 'request.aborted' || t === 'stream.not.readable') return fail(res, new HakitError('HAKIT_E_API_BAD_REQUEST', 'the body was cut short', 'API request'));
    next(err);
  });
  app.use((req: RawReq, _res, next) => {
    req.auth = authenticate(d.auth, req.method, req.originalUrl, req.headers, req.raw_body);
    next();
  });

  // The web console when built (npm run build); else the home page below.
  app.use(consoleStatic());
  app.get('/', (_req, res) => {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.send(d.home());
  });

  app.get(METRICS_PATH, (req: RawReq, res) => {
    const v = authorize(METRICS_ACCESS, req.auth?.who ?? 'none', req.method);
    if (!v.ok) return send(res, v.status, { error: { code: v.code, message: v.message } });
    d.metrics().then(
      (text) => {
        res.setHeader('Content-Type', 'text/plain; version=0.0.4; charset=utf-8');
        res.send(text);
      },
      (e: unknown) => fail(res, e),
    );
  });

  for (const r of ROUTES) mount(app, r, d);

  app.use((req, res) => fail(res, new HakitError('HAKIT_E_API_NOT_FOUND', `no route ${req.method} ${req.path.slice(0, 200)}`, 'API')));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    // express's own 4xx (a path that does not decode, say) keep their class, with our code.
    const status = (err as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) return fail(res, new HakitError('HAKIT_E_API_BAD_REQUEST', 'the request line or path cannot be decoded', 'API request'));
    fail(res, err);
  });
  return app;
}

/** Why a caller may not send a large body to this route, from the headers alone (null: it may). */
function bigBodyRefusal(auth: AuthDeps, route: RouteSpec, req: Request): { status: number; code: string; message: string } | null {
  const node = req.headers[H_NODE];
  if (node !== undefined) {
    if (typeof node === 'string' && auth.cluster_key && auth.isPeer(node)) return null;
    return { status: 401, code: 'HAKIT_E_AUTH_NODE', message: 'the inter-node signature is missing, wrong or stale' };
  }
  const v = authorize(route.access, authenticate(auth, req.method, req.originalUrl, req.headers, undefined).who, req.method);
  return v.ok ? null : v;
}

/** An express path (`/a/:x/b`) as a regular expression on req.path. */
function pathRegex(p: string): RegExp {
  return new RegExp('^' + p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[a-z_]+/g, '[^/]+') + '/?$');
}

function mount(app: express.Express, r: RouteSpec, d: AppDeps): void {
  const method = r.method.toLowerCase() as 'get' | 'post' | 'put' | 'delete';
  app[method](API_BASE + r.path, (req: RawReq, res: Response) => {
    void (async () => {
      const v = authorize(r.access, req.auth?.who ?? 'none', req.method);
      if (!v.ok) return send(res, v.status, { error: { code: v.code, message: v.message } });
      checkSchema('path', { type: 'object', properties: r.params, required: Object.keys(r.params), additionalProperties: false }, { ...req.params });
      checkSchema('query', r.query, coerceQuery(r.query, req.query as Record<string, unknown>));
      const has_body = req.raw_body !== undefined && req.raw_body.length > 0;
      if (r.body === undefined) {
        if (has_body) throw new HakitError('HAKIT_E_API_BAD_REQUEST', `${r.method} ${r.path} takes no body`, 'API request');
      } else {
        const ct = req.headers['content-type'] ?? '';
        if (has_body && !/^application\/json\s*(;|$)/i.test(ct)) throw new HakitError('HAKIT_E_API_MEDIA_TYPE', 'send the body as application/json', 'API request');
        checkSchema('body', r.body, has_body ? req.body : undefined);
      }
      const ctx: RouteContext = {
        route: r,
        params: req.params as Record<string, string>,
        query: coerceQuery(r.query, req.query as Record<string, unknown>),
        body: has_body ? (req.body as Record<string, unknown>) : {},
        principal: r.access === 'public' ? null : principalOf(req),
        ip: req.socket.remoteAddress ?? '?',
        url: req.originalUrl,
        auth: req.auth as Authenticated,
        res,
      };
      if (r.id === 'command') {
        const kind = (ctx.body['kind'] as ModuleCommandKind) ?? 'start';
        const need = COMMAND_ACCESS[kind];
        const v2 = authorize(need, req.auth?.who ?? 'none', req.method);
        if (!v2.ok) return send(res, v2.status, { error: { code: v2.code, message: `${kind}: ${v2.message}` } });
      }
      const out = await d.handlers[r.id]!(ctx);
      if (out.kind === 'raw') return send(res, out.status, out.body);
      send(res, 200, out.body);
    })().catch((e: unknown) => fail(res, e));
  });
}
