import type { OpenApiLike } from './server.ts';

const escape = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** A self-contained page listing the routes (no CDN: the machines this runs on may be offline). */
export function docsPage(spec: OpenApiLike): string {
  const rows = Object.entries(spec.paths)
    .flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => `<tr><td><code>${method.toUpperCase()}</code></td><td><code>${escape(path)}</code></td><td>${escape(op['x-required-role'] ?? 'public')}</td><td>${escape(op.summary ?? '')}</td></tr>`))
    .join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escape(spec.info.title)}</title>
<style>body{font-family:sans-serif;margin:2em}td{padding:4px 12px;border-bottom:1px solid #ddd}</style></head>
<body><h1>${escape(spec.info.title)} ${escape(spec.info.version)}</h1>
<p>Machine-readable spec: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3).</p>
<p>Every /v1 route needs an API key with the role shown (viewer &lt; operator &lt; admin), sent as <code>Authorization: Bearer &lt;key&gt;</code> or <code>X-Api-Key: &lt;key&gt;</code>.
An administrator creates one on the server: <code>./novacron keys create --name NAME --role viewer</code>.</p>
<table><tr><th>method</th><th>path</th><th>role</th><th>what</th></tr>${rows}</table></body></html>`;
}
