// node `ws` echo server for make bench: the library's own server, every
// message sent back as it came (text as text, binary as binary).
//
//   node node_echo.js PORT [deflate]
//
// `deflate` turns on ws's permessage-deflate with its defaults (the
// compression table); without it, ws's default: no compression.
'use strict';
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2]);
const deflate = process.argv[3] === 'deflate';
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: deflate });
wss.on('connection', (ws, req) => {
  req.socket.setNoDelay(true);
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
