#!/usr/bin/env node
// node `ws` as the peer of stdws in `make interop`.
//
//   node_peer.js server PORT [--deflate]   echo server; "close CODE REASON" closes
//   node_peer.js client URL  [--deflate] [--echo-only]
//                                          runs the checks against an echo server
//                                          (--echo-only: a plain echo, no "close")
//   node_peer.js chat URL                  5 clients in a chat room: every message
//                                          reaches everyone once, in order per sender
//
// Same checks as interop/py_peer.py.
'use strict';
const WebSocket = require('ws');

const MAX = 1 << 25;
const SIZES = [0, 125, 126, 64 << 10, 1 << 20, 16 << 20];
const [mode, target, ...flags] = process.argv.slice(2);
const deflate = flags.includes('--deflate');
const echoOnly = flags.includes('--echo-only');

function check(ok, what) {
  console.log((ok ? 'ok   ' : 'FAIL ') + what);
  if (!ok) process.exit(1);
}

if (mode === 'server') {
  const wss = new WebSocket.Server({ host: '127.0.0.1', port: Number(target), maxPayload: MAX, perMessageDeflate: deflate });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? null : data.toString('utf8');
      if (text !== null && text.startsWith('close ')) {
        const [, code, ...reason] = text.split(' ');
        ws.close(Number(code), reason.join(' '));
        return;
      }
      ws.send(isBinary ? data : text, { binary: isBinary });
    });
  });
  wss.on('listening', () => console.log(`node_peer: listening on ${target}`));
} else if (mode === 'chat') {
  chat().catch((e) => { console.log('FAIL ' + e); process.exit(1); });
} else {
  run().catch((e) => { console.log('FAIL ' + e); process.exit(1); });
}

async function chat(clients = 5, each = 20) {
  const conns = [];
  for (let i = 0; i < clients; i++) conns.push(await open(target));
  conns.forEach((ws, i) => { for (let j = 0; j < each; j++) ws.send(`${i}:${j}`); });
  for (const ws of conns) {
    const seen = Array.from({ length: clients }, () => []);
    let total = 0;
    while (total < clients * each) {
      const text = await Promise.race([ws.recv(), new Promise((_, rej) => setTimeout(() => rej(new Error('chat timeout')), 10000))]);
      const m = /(\d+):(\d+)$/.exec(String(text));
      if (m) { seen[Number(m[1])].push(Number(m[2])); total++; }
    }
    check(seen.every((v) => v.join() === [...Array(each).keys()].join()), 'chat: every message once, in order per sender');
  }
  conns.forEach((ws) => ws.close());
  console.log('node_peer: all checks passed');
}

function open(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { maxPayload: MAX, perMessageDeflate: deflate });
    const queue = [];
    const waiters = [];
    ws.on('message', (data, isBinary) => {
      const m = isBinary ? data : data.toString('utf8');
      if (waiters.length) waiters.shift()(m); else queue.push(m);
    });
    ws.recv = () => new Promise((res) => (queue.length ? res(queue.shift()) : waiters.push(res)));
    ws.closed = new Promise((res) => ws.on('close', (code, reason) => res([code, reason.toString()])));
    ws.on('open', () => resolve(ws));
    ws.on('error', reject);
  });
}

async function run() {
  let ws = await open(target);
  check((ws.extensions || '').includes('permessage-deflate') === deflate, `extensions negotiated: "${ws.extensions}"`);
  for (const size of SIZES) {
    const text = 'abcdefghijklmnopqrstuvwxyz'.repeat(Math.ceil(size / 26)).slice(0, size);
    ws.send(text);
    check((await ws.recv()) === text, `text echo ${size} B`);
    const data = Buffer.alloc(size, 0).map((_, i) => i % 251);
    ws.send(data, { binary: true });
    const echo = await ws.recv();
    check(Buffer.isBuffer(echo) && echo.equals(data), `binary echo ${size} B`);
  }
  ws.send('frag', { fin: false });
  ws.send('men', { fin: false });
  ws.send('ted κόσμε', { fin: true });
  check((await ws.recv()) === 'fragmented κόσμε', 'fragmented text echo');
  const pong = new Promise((res) => ws.once('pong', (p) => res(p.toString())));
  ws.ping('interop');
  check((await pong) === 'interop', 'ping answered by pong');
  ws.close(4000, 'client bye');
  const [code] = await ws.closed;
  check(code === 4000, 'client close: code echoed');

  if (echoOnly) { console.log('node_peer: all checks passed'); return; }
  ws = await open(target);
  ws.send('close 4001 server bye');
  const [scode, sreason] = await ws.closed;
  check(scode === 4001 && sreason === 'server bye', 'server close: code and reason');
  console.log('node_peer: all checks passed');
}
