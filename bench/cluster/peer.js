// The peer for make bench-cluster: what a node user would write for the
// same cluster chat. Every WebSocket on /chat is on the topic "chat"; a
// message is sent to the local clients at once, then published to Redis
// with this process's id in front; messages from other processes are sent
// to the local clients. Payloads stay binary (Buffers) end to end.
//
//   node peer.js PORT [REDIS_URL]     (no URL: one process, no Redis)
'use strict';
const crypto = require('crypto');
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2]);
const redisUrl = process.argv[3];
const origin = crypto.randomBytes(8);
const channel = 'bench:topic:chat';
const clients = new Set();

function fanOut(data, isBinary) {
  for (const ws of clients) {
    if (ws.readyState === 1) ws.send(data, { binary: isBinary });
  }
}

let pub = null;
if (redisUrl) {
  const Redis = require('ioredis');
  pub = new Redis(redisUrl);
  const sub = new Redis(redisUrl);
  sub.subscribe(channel);
  sub.on('messageBuffer', (_channel, message) => {
    if (message.subarray(0, 8).equals(origin)) return; // our own, already served
    fanOut(message.subarray(9), message[8] === 0);
  });
}

const wss = new WebSocketServer({ port, host: '127.0.0.1', path: '/chat' });
wss.on('connection', (ws) => {
  clients.add(ws);
  ws.on('close', () => clients.delete(ws));
  ws.on('message', (data, isBinary) => {
    fanOut(data, isBinary);
    if (pub) pub.publish(channel, Buffer.concat([origin, Buffer.from([isBinary ? 0 : 1]), data]));
  });
});
wss.on('listening', () => console.error(`peer listening on ${port}`));
