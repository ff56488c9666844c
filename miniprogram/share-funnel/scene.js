'use strict';
/**
 * Scene and landing-parameter decoding — the same rules as the server's codec (shared/sharing/scene.py and
 * shared/sharing/links.py), checked against the same frozen vectors (tests/vectors/scene.json).
 *
 * Decoders never throw: they return {kind: 'claim' | 'token' | 'organic' | 'error', ...} so page code can
 * show the right product before the server answers.
 */

var MAX_SCENE_LENGTH = 32;
var MAX_RAW_INPUT = 3 * 96;
var INLINE_V1 = '1';
var TOKEN_V1 = '2';
// A channel is a campaign tag (the seed's `channel=share`, `moments`, `poster_spring`, `kol-li`…): 1-24 of
// A-Z a-z 0-9 _ -, compared case-insensitively, lower-cased. Only the well-known three have an inline letter.
var CHANNELS = ['chat', 'timeline', 'poster'];
var CHANNEL = /^[A-Za-z0-9_-]{1,24}$/;
var LETTER_CHANNEL = { c: 'chat', t: 'timeline', p: 'poster', x: null };
var CHANNEL_LETTER = { chat: 'c', timeline: 't', poster: 'p' };

var SCENE_CHARSET = /^[A-Za-z0-9._~-]*$/;
var INVITER_CODE = /^[0-9A-Za-z]{6,8}$/;
var PRODUCT_ID = /^[A-Za-z0-9_.~-]{1,64}$/;
var LEGACY_VALUE = /^[A-Za-z0-9_.~-]{1,64}$/;
var TOKEN = /^[0-9A-Za-z]{10}$/;
var ID = /^[A-Za-z0-9_.~-]{1,64}$/;

var INVITER_KEYS = ['i', 'inviter'];
var PRODUCT_KEYS = ['id', 'p', 'productId'];
var CHANNEL_KEYS = ['c', 'channel'];

/** The stored (lower-case) form of a channel, or null when the value is not a channel. */
function canonicalChannel(value) {
  return typeof value === 'string' && CHANNEL.test(value) ? value.toLowerCase() : null;
}

function error(reason) {
  return { kind: 'error', reason: reason };
}

/** Strict one-level URL decoding; null when an escape is malformed or not printable ASCII. */
function percentDecodeOnce(value) {
  if (value.indexOf('%') < 0) return value;
  var escapes = value.match(/%[0-9A-Fa-f]{2}/g) || [];
  var percents = value.split('%').length - 1;
  if (escapes.length !== percents) return null;
  var decoded = value.replace(/%([0-9A-Fa-f]{2})/g, function (_, hex) {
    return String.fromCharCode(parseInt(hex, 16));
  });
  for (var i = 0; i < decoded.length; i++) {
    var code = decoded.charCodeAt(i);
    if (code < 0x20 || code > 0x7e) return null;
  }
  return decoded;
}

function decodeLegacy(value) {
  var fields = {};
  var pairs = value.split('&');
  for (var i = 0; i < pairs.length; i++) {
    var pair = pairs[i];
    var eq = pair.indexOf('=');
    if (eq < 0) return error('bad_legacy_form');
    var key = pair.slice(0, eq);
    var item = pair.slice(eq + 1);
    if (key !== 'i' && key !== 'p' && key !== 'c') return error('bad_legacy_form');
    if (Object.prototype.hasOwnProperty.call(fields, key)) return error('bad_legacy_form');
    if (!LEGACY_VALUE.test(item)) return error('bad_legacy_value');
    fields[key] = item;
  }
  if (!fields.i || !fields.p) return error('bad_legacy_form');
  var channel = fields.c === undefined ? null : canonicalChannel(fields.c);
  if (fields.c !== undefined && channel === null) return error('bad_channel');
  return { kind: 'claim', inviter: fields.i, productId: fields.p, channel: channel, form: 'legacy' };
}

function decodeInlineV1(body) {
  if (!body) return error('truncated');
  var letter = body.charAt(0);
  if (!Object.prototype.hasOwnProperty.call(LETTER_CHANNEL, letter)) return error('bad_channel');
  var rest = body.slice(1);
  var dot = rest.indexOf('.');
  if (dot < 0) return error('truncated');
  var inviter = rest.slice(0, dot);
  var product = rest.slice(dot + 1);
  if (!INVITER_CODE.test(inviter)) return error('bad_inviter');
  if (!PRODUCT_ID.test(product)) return error('bad_product');
  return { kind: 'claim', inviter: inviter, productId: product, channel: LETTER_CHANNEL[letter], form: 'inline' };
}

/**
 * Decode a Mini Program Code scene: our formats ('1<ch><inviter>.<product>', '2<token>'), the seed's
 * 'i=<code>&p=<product>', or a URL-encoded form of either (decodeURIComponent applied or not).
 */
function decodeScene(scene) {
  if (typeof scene !== 'string') return error('not_a_string');
  if (scene === '') return error('empty');
  if (scene.length > MAX_RAW_INPUT) return error('too_long');
  var value = percentDecodeOnce(scene);
  if (value === null) return error('bad_percent_encoding');
  if (value.indexOf('=') >= 0) return decodeLegacy(value);
  if (value.length > MAX_SCENE_LENGTH) return error('too_long');
  if (!SCENE_CHARSET.test(value)) return error('bad_charset');
  var tag = value.charAt(0);
  var body = value.slice(1);
  if (tag === INLINE_V1) return decodeInlineV1(body);
  if (tag === TOKEN_V1) return TOKEN.test(body) ? { kind: 'token', token: body } : error('bad_token');
  return error('unknown_version');
}

/**
 * The inline v1 scene for a claim, or null when the inline form cannot carry it (over 32 characters, or a
 * campaign-tag channel without a letter): the server then uses a stored token.
 */
function encodeScene(inviter, productId, channel) {
  if (!INVITER_CODE.test(inviter) || !PRODUCT_ID.test(productId)) return null;
  var letter = channel == null ? 'x' : CHANNEL_LETTER[canonicalChannel(channel)];
  if (!letter) return null;
  var scene = INLINE_V1 + letter + inviter + '.' + productId;
  return scene.length > MAX_SCENE_LENGTH ? null : scene;
}

function pick(options, keys) {
  var found = null;
  for (var i = 0; i < keys.length; i++) {
    var raw = options[keys[i]];
    if (raw === undefined || raw === null || raw === '') continue;
    if (typeof raw !== 'string') return { error: 'bad_value' };
    var value = percentDecodeOnce(raw);
    if (value === null || !ID.test(value)) return { error: 'bad_value' };
    if (found !== null && found !== value) return { error: 'conflicting_keys' };
    found = value;
  }
  return { value: found };
}

/**
 * What a page's onLoad options say about how the user arrived: a scanned scene, a share link, or an
 * organic open (with the product id when the page has one).
 */
function parseEntry(options) {
  options = options || {};
  if (options.scene !== undefined && options.scene !== null && options.scene !== '') {
    return decodeScene(options.scene);
  }
  var inviter = pick(options, INVITER_KEYS);
  var product = pick(options, PRODUCT_KEYS);
  var channel = pick(options, CHANNEL_KEYS);
  if (inviter.error || product.error || channel.error) {
    return error(inviter.error || product.error || channel.error);
  }
  if (inviter.value === null) return { kind: 'organic', productId: product.value };
  if (product.value === null) return error('missing_product');
  var tag = channel.value === null ? null : canonicalChannel(channel.value);
  if (channel.value !== null && tag === null) return error('bad_channel');
  return { kind: 'claim', inviter: inviter.value, productId: product.value, channel: tag, form: 'query' };
}

module.exports = {
  decodeScene: decodeScene,
  encodeScene: encodeScene,
  parseEntry: parseEntry,
  percentDecodeOnce: percentDecodeOnce,
  canonicalChannel: canonicalChannel,
  CHANNELS: CHANNELS,
  MAX_SCENE_LENGTH: MAX_SCENE_LENGTH
};
