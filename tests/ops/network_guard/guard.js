'use strict';
// Loaded with NODE_OPTIONS=--require: records every outgoing connection and DNS lookup of a Node process into
// $NETWORK_LOG, so a test can prove the CLI talks to nothing but the endpoints it was given.
const fs = require('fs');
const net = require('net');
const dns = require('dns');

const record = (what) => fs.appendFileSync(process.env.NETWORK_LOG, `node ${what}\n`);
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (first && typeof first === 'object' && !first.path) record(`connect ${first.host || 'localhost'}:${first.port}`);
  else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) record(`connect ${typeof args[1] === 'string' ? args[1] : 'localhost'}:${first}`);
  return connect.apply(this, args);
};
const lookup = dns.lookup;
dns.lookup = function (host, ...rest) {
  record(`lookup ${host}`);
  return lookup.call(this, host, ...rest);
};
