// /api/v1/openapi.json, built from the route table: what the server enforces is what the
// document says.
import { ROUTES, METRICS_PATH, COMMAND_ACCESS } from './routes';
import type { JsonSchema } from './pure/schema';
import { API_BASE, API_VERSION } from './version';

function oaPath(p: string): string {
  return p.replace(/:([a-z_]+)/g, '{$1}');
}

function errorResponse(description: string): object {
  return { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } } };
}

export function buildOpenApi(product_version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) {
    const path = API_BASE + oaPath(r.path);
    const params: object[] = Object.entries(r.params).map(([name, schema]) => ({ name, in: 'path', required: true, schema }));
    if (r.query.type === 'object') {
      for (const [name, schema] of Object.entries(r.query.properties)) params.push({ name, in: 'query', required: r.query.required.includes(name), schema });
    }
    const op: Record<string, unknown> = {
      operationId: r.id,
      summary: r.summary,
      'x-hakit-access': r.access,
      'x-hakit-audited': r.audited,
      parameters: params,
      security: r.access === 'public' ? [] : [{ session: [], csrf: [] }, { apikey: [] }],
      responses: {
        '200': { description: `${r.response}, as core/api/contract/types.ts defines it`, 'x-hakit-type': r.response },
        '400': errorResponse('Malformed request (code HAKIT_E_API_BAD_REQUEST and friends)'),
        '401': errorResponse('Not logged in, or the session expired'),
        '403': errorResponse('The role does not allow this, or the CSRF token is wrong'),
        '404': errorResponse('No such route, node or module'),
        '429': errorResponse('Too many login attempts'),
      },
    };
    if (r.id === 'command') op['x-hakit-command-access'] = COMMAND_ACCESS;
    if (r.body) op['requestBody'] = { required: true, content: { 'application/json': { schema: r.body satisfies JsonSchema } } };
    (paths[path] ??= {})[r.method.toLowerCase()] = op;
  }
  paths[METRICS_PATH] = {
    get: { operationId: 'metrics', summary: 'Prometheus text format', security: [{ apikey: [] }, { session: [] }], responses: { '200': { description: 'text/plain; version=0.0.4' } } },
  };
  return {
    openapi: '3.1.0',
    info: { title: 'hakit API', version: `${API_VERSION}.0 (hakit ${product_version})` },
    paths,
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'hakit_session' },
        csrf: { type: 'apiKey', in: 'header', name: 'X-CSRF-Token' },
        apikey: { type: 'http', scheme: 'bearer' },
      },
      schemas: {
        ErrorBody: {
          type: 'object',
          required: ['error'],
          properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string', pattern: '^HAKIT_E_[A-Z0-9_]+$' }, message: { type: 'string' } } } },
        },
      },
    },
  };
}
