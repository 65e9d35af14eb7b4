// SPDX-License-Identifier: MIT
// WebSocket echo server over TLS on npm `ws` (pinned in package.json) and node's https: the
// node peer of the TLS benchmark (bench/run_tls.sh; docs/performance.md, "TLS").
//
//   node bench/node/echo_wss.mjs --cert FILE --key FILE [--host 127.0.0.1] [--port 0]
//                                [--prefer-chacha]
//
// https.createServer with the certificate and key (PEM) and node's TLS defaults: session
// tickets on (RFC 5077; node rotates its own ticket keys), ALPN http/1.1 as the https module
// sets it, OpenSSL's cipher preference. A `ws` WebSocketServer on that server echoes every
// message with its type, perMessageDeflate off, exactly as echo_ws.mjs does over plain TCP.
// --prefer-chacha: the server picks ECDHE-*-CHACHA20-POLY1305 first (honorCipherOrder), as
// rtweb's server does on mbedTLS 2.28, so that both servers run the same cipher suite with
// the benchmark's client (the client's record crypto then costs the same against both).
// Once listening it prints `listening on https://HOST:PORT/` (the real port).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { DEFAULT_CIPHERS } from 'node:tls';
import { WebSocketServer } from 'ws';

let host = '127.0.0.1';
let port = 0;
let cert = null;
let key = null;
let chacha = false;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--host' && i + 1 < argv.length) host = argv[++i];
  else if (argv[i] === '--port' && i + 1 < argv.length) port = Number(argv[++i]);
  else if (argv[i] === '--cert' && i + 1 < argv.length) cert = argv[++i];
  else if (argv[i] === '--key' && i + 1 < argv.length) key = argv[++i];
  else if (argv[i] === '--prefer-chacha') chacha = true;
  else {
    cert = null;
    break;
  }
}
if (cert === null || key === null) {
  process.stderr.write('usage: echo_wss.mjs --cert FILE --key FILE [--host H] [--port P] ' +
                       '[--prefer-chacha]\n');
  process.exit(2);
}

const options = { cert: readFileSync(cert), key: readFileSync(key) };
if (chacha) {
  options.ciphers = `ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:${DEFAULT_CIPHERS}`;
  options.honorCipherOrder = true;
}
const server = createServer(options);
const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });

wss.on('connection', (ws, req) => {
  req.socket.setNoDelay(true);
  ws.on('message', (data, isBinary) => {
    ws.send(data, { binary: isBinary, compress: false });
  });
  ws.on('error', () => {});
});
// A connection that only does the TLS handshake (bench/tls_handshake) and goes away.
server.on('tlsClientError', () => {});

server.listen(port, host, () => {
  const a = server.address();
  process.stderr.write(`echo_wss: node ${process.version}, OpenSSL ${process.versions.openssl}, ` +
                       `ws over https, perMessageDeflate: off${chacha ? ', ChaCha20-Poly1305 preferred' : ''}\n`);
  process.stdout.write(`listening on https://${a.address}:${a.port}/\n`);
});

const stop = () => {
  for (const c of wss.clients) c.terminate();
  server.closeAllConnections?.();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
