// mirror_http: POST / appends the request body as one record; GET / returns every record.
// Records live in $MIRROR_HTTP_DATA/records.log, a file in a replicated directory, and each
// POST is answered only after fsync so an acknowledged record survives a failover.
'use strict';
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

const PORT = Number(process.env.MIRROR_HTTP_PORT || 9080);
const DATA_DIR = process.env.MIRROR_HTTP_DATA || '/srv/mirror_http/data';
const RECORD_MAX_BYTES = 64 * 1024;
const file = path.join(DATA_DIR, 'records.log');

fs.mkdirSync(DATA_DIR, { recursive: true });

function append(record, done) {
  fs.open(file, 'a', (err, fd) => {
    if (err) return done(err);
    fs.write(fd, record.replace(/\n/g, ' ') + '\n', (werr) => {
      if (werr) return fs.close(fd, () => done(werr));
      fs.fsync(fd, (serr) => fs.close(fd, () => done(serr)));
    });
  });
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET') {
    fs.readFile(file, 'utf8', (err, text) => {
      if (err && err.code !== 'ENOENT') { res.writeHead(500); return res.end(String(err.code) + '\n'); }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(text || '');
    });
    return;
  }
  if (req.method === 'POST') {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => { size += c.length; if (size <= RECORD_MAX_BYTES) chunks.push(c); });
    req.on('end', () => {
      if (size > RECORD_MAX_BYTES) { res.writeHead(413); return res.end('record too large\n'); }
      append(Buffer.concat(chunks).toString('utf8'), (err) => {
        res.writeHead(err ? 500 : 200);
        res.end(err ? String(err.code) + '\n' : 'ok\n');
      });
    });
    return;
  }
  res.writeHead(405);
  res.end();
});
server.listen(PORT, () => process.stdout.write(`mirror_http listening on ${PORT}, data in ${DATA_DIR}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
