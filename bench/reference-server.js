// The physical limit for the HTTP benchmarks: a bare Node http server on 127.0.0.1 that answers
// every request with a fixed JSON body of the same size as the backend's answer, without auth,
// routing, validation or a database.
'use strict';
const http = require('http');
const body = Buffer.from(process.argv[2] || '[]');
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  if (process.send) {
    process.send({ type: 'ready', port: server.address().port });
  }
});
