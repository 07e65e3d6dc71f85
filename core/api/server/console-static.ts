// Serves the built web console (webconsole/build.mjs writes dist/webconsole/public/): the page
// at `/`, its script and style sheet under /console/. A fixed list of files, so no path from
// the request ever reaches the file system. Pages get a stricter Content-Security-Policy than
// the API's: scripts, styles and connections from this origin only, nothing inline.
import fs from 'node:fs';
import path from 'node:path';
import type { NextFunction, Request, Response } from 'express';

export const CONSOLE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const FILES: Readonly<Record<string, string>> = {
  '/': 'index.html',
  '/console/app.js': 'app.js',
  '/console/style.css': 'style.css',
};
const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** dist/webconsole/public, whether this file runs compiled (dist/core/api/server) or from source (ts-jest). */
export function consoleDir(): string | null {
  const candidates = [path.resolve(__dirname, '..', '..', '..', 'webconsole', 'public'), path.resolve(__dirname, '..', '..', '..', 'dist', 'webconsole', 'public')];
  return candidates.find((d) => fs.existsSync(path.join(d, 'index.html'))) ?? null;
}

/** Express middleware: answers the console's files when built; anything else goes on. */
export function consoleStatic(dir: string | null = consoleDir()): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    const name = req.method === 'GET' || req.method === 'HEAD' ? FILES[req.path] : undefined;
    if (!dir || !name) return next();
    fs.readFile(path.join(dir, name), (err, data) => {
      if (err) return next();
      res.setHeader('Content-Type', TYPES[path.extname(name)] ?? 'application/octet-stream');
      res.setHeader('Content-Security-Policy', CONSOLE_CSP);
      res.send(data);
    });
  };
}
