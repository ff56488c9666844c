'use strict';
// The kit's decoder against the frozen vectors the Python codec uses (one source of truth).
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const fs = require('node:fs');
const { decodeScene, encodeScene, parseEntry } = require('../share-funnel/scene');

const vectors = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'tests', 'vectors', 'scene.json'), 'utf8'));

test('the vectors file is the shared one and is not empty', () => {
  assert.ok(vectors.decode.length >= 40);
  assert.ok(vectors.encode.length >= 5);
});

for (const vector of vectors.decode) {
  test(`decodeScene(${JSON.stringify(vector.input)}) matches the frozen vector`, () => {
    assert.deepEqual(decodeScene(vector.input), vector.expect);
  });
}

for (const vector of vectors.encode) {
  test(`encodeScene builds ${vector.scene}`, () => {
    assert.equal(encodeScene(vector.inviter, vector.productId, vector.channel), vector.scene);
    assert.deepEqual(decodeScene(vector.scene), {
      kind: 'claim', inviter: vector.inviter, productId: vector.productId,
      channel: vector.channel === null ? null : vector.channel.toLowerCase(), form: 'inline'
    });
  });
}

for (const vector of vectors.encodeTooLong) {
  test(`encodeScene refuses ${vector.productId} (over 32 characters)`, () => {
    assert.equal(encodeScene(vector.inviter, vector.productId, vector.channel), null);
  });
}

for (const vector of vectors.encodeNeedsToken) {
  test(`encodeScene leaves the campaign channel ${vector.channel} to a token scene`, () => {
    assert.equal(encodeScene(vector.inviter, vector.productId, vector.channel), null);
  });
}

for (const vector of vectors.links) {
  test(`parseEntry(${JSON.stringify(vector.query)}) matches the shared link vector`, () => {
    const entry = parseEntry(vector.query);
    if (vector.expect.kind === 'error' || vector.expect.kind === 'organic') assert.equal(entry.kind, vector.expect.kind);
    else assert.deepEqual(entry, vector.expect);
  });
}

test('parseEntry reads share links with short and seed long keys', () => {
  assert.deepEqual(parseEntry({ id: 'sku-42', i: 'Ab3dE9', c: 'chat' }),
    { kind: 'claim', inviter: 'Ab3dE9', productId: 'sku-42', channel: 'chat', form: 'query' });
  assert.deepEqual(parseEntry({ id: 'sku-42', inviter: 'Ab3dE9', channel: 'timeline' }),
    { kind: 'claim', inviter: 'Ab3dE9', productId: 'sku-42', channel: 'timeline', form: 'query' });
});

test('parseEntry prefers a scanned scene and reports organic opens with their product', () => {
  assert.equal(parseEntry({ scene: '1pAb3dE9.sku-42', i: 'Zz9Yy8' }).inviter, 'Ab3dE9');
  assert.deepEqual(parseEntry({ id: 'sku-42' }), { kind: 'organic', productId: 'sku-42' });
  assert.deepEqual(parseEntry(undefined), { kind: 'organic', productId: null });
});

test('parseEntry rejects what the server rejects', () => {
  assert.equal(parseEntry({ i: 'Ab3dE9' }).reason, 'missing_product');
  assert.equal(parseEntry({ id: 'sku-42', i: 'Ab3dE9', inviter: 'Zz9Yy8' }).reason, 'conflicting_keys');
  assert.equal(parseEntry({ id: 'sku 42', i: 'Ab3dE9' }).reason, 'bad_value');
  assert.equal(parseEntry({ id: 'sku-42', i: 'Ab3dE9', c: 'sms.1' }).reason, 'bad_channel');
  assert.equal(parseEntry({ id: 'sku-42', i: 'Ab3dE9', c: 'c'.repeat(25) }).reason, 'bad_channel');
  assert.equal(parseEntry({ scene: 'garbage!' }).reason, 'bad_charset');
});

test('decodeScene never throws, whatever it is given', () => {
  const inputs = [undefined, null, 0, {}, [], '%', '%%', '1', '2', '=', '&', 'i=', '\u0000', '1p\uD800.x',
    'x'.repeat(1000), '1pAb3dE9.' + 'a'.repeat(100)];
  for (let i = 0; i < 2000; i++) {
    let s = '';
    const n = i % 40;
    for (let j = 0; j < n; j++) s += '12xcpt.%=&_~-iAbZ09E\n '.charAt((i * 31 + j * 17) % 22);
    inputs.push(s);
  }
  for (const input of inputs) {
    const result = decodeScene(input);
    assert.ok(['claim', 'token', 'error'].includes(result.kind), JSON.stringify(input));
  }
});
