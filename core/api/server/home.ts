// The page at / until the web console is served there: says what this is and where the API is.
import { API_BASE } from '../contract/version';

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function homePage(node: string, cluster: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hakit ${esc(node)}</title></head>
<body>
<h1>hakit — node ${esc(node)} of cluster ${esc(cluster)}</h1>
<p>The web console is coming here. Until then, the API is served:</p>
<ul>
<li><a href="${API_BASE}/openapi.json">${API_BASE}/openapi.json</a> (the routes, roles and schemas)</li>
<li>POST ${API_BASE}/login with {"user", "password"}, then GET <a href="${API_BASE}/state">${API_BASE}/state</a></li>
<li><a href="/metrics">/metrics</a> (Prometheus, with an API key)</li>
</ul>
</body></html>
`;
}
