// SPDX-License-Identifier: MIT
// WebSocket echo server on npm `ws` (pinned in package.json): the node peer of the echo
// benchmark (bench/run_echo.sh; docs/performance.md, "Echo benchmark").
//
//   node bench/node/echo_ws.mjs [--host 127.0.0.1] [--port 0] [--deflate]
//
// Every message is sent back with its type (text/binary). perMessageDeflate is off: that is
// ws 8's server default (WebSocketServer option perMessageDeflate=false); it is set
// explicitly here so that an upgrade of ws cannot turn compression on. --deflate turns it on
// (RFC 7692; bench/run_deflate.sh): zlib's defaults (level 6, window 15, memLevel 8), the
// client's offer decides context takeover, and threshold 0 so every message is compressed
// (ws's default threshold, 1024 bytes, would leave chat messages uncompressed); each echo is
// sent with compress: true. Once listening it
// prints `listening on http://HOST:PORT/` (the real port), like `rtwcat serve`. ws uses the
// optional native addons bufferutil / utf-8-validate when they are installed; this package
// does not install them, so masking and UTF-8 checks run in ws's JavaScript fallbacks
// (the run prints which).
import { WebSocketServer } from 'ws';
import { createRequire } from 'node:module';

let host = '127.0.0.1';
let port = 0;
let deflate = false;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--host' && i + 1 < argv.length) host = argv[++i];
  else if (argv[i] === '--port' && i + 1 < argv.length) port = Number(argv[++i]);
  else if (argv[i] === '--deflate') deflate = true;
  else {
    process.stderr.write('usage: echo_ws.mjs [--host H] [--port P] [--deflate]\n');
    process.exit(2);
  }
}

const require = createRequire(import.meta.url);
let addon = 'none';
try {
  require.resolve('bufferutil');
  addon = 'bufferutil';
} catch {
  // not installed: ws masks in JavaScript
}

const wss = new WebSocketServer({
  host,
  port,
  perMessageDeflate: deflate ? { threshold: 0 } : false,
  maxPayload: 64 * 1024 * 1024,
});

wss.on('connection', (ws, req) => {
  req.socket.setNoDelay(true); // ws already does; stated for clarity
  ws.on('message', (data, isBinary) => {
    ws.send(data, { binary: isBinary, compress: deflate });
  });
  ws.on('error', () => {});
});

wss.on('listening', () => {
  const a = wss.address();
  process.stderr.write(`echo_ws: node ${process.version}, ws native addon: ${addon}, ` +
                       `perMessageDeflate: ${deflate ? 'on (threshold 0)' : 'off'}\n`);
  process.stdout.write(`listening on http://${a.address}:${a.port}/\n`);
});

const stop = () => {
  for (const c of wss.clients) c.terminate();
  wss.close(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
