// farm_http: answers every HTTP request (FARM_HTTP_PORT, default 9081) and every UDP datagram
// (FARM_UDP_PORT, default 9082) with the name of the node that served it. Stateless.
'use strict';
const http = require('node:http');
const dgram = require('node:dgram');
const os = require('node:os');

const HTTP_PORT = Number(process.env.FARM_HTTP_PORT || 9081);
const UDP_PORT = Number(process.env.FARM_UDP_PORT || 9082);
const NODE_NAME = process.env.HAKIT_NODE || os.hostname();

const server = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(NODE_NAME + '\n');
});
server.listen(HTTP_PORT);

const udp = dgram.createSocket('udp4');
udp.on('message', (_msg, rinfo) => udp.send(NODE_NAME + '\n', rinfo.port, rinfo.address));
udp.bind(UDP_PORT);

process.stdout.write(`farm_http on ${NODE_NAME}: http ${HTTP_PORT}, udp ${UDP_PORT}\n`);
process.on('SIGTERM', () => { udp.close(); server.close(() => process.exit(0)); });
