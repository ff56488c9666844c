'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { createShareFunnel } = require('../share-funnel/index');
const { createFakeWx, immediate } = require('./fake-wx');

const CODE = { ok: true, fileID: 'cloud://prod-1.7465-prod-1-1250000000/wxacodes/ab/ab12.jpg', scene: '1pAb3dE9.sku-42',
  page: 'pages/product/product', contentType: 'image/jpeg', cached: false };

test('posterCode asks genWxacode for the sharer\'s own code with the poster channel', async () => {
  const wx = createFakeWx({ responses: [CODE] });
  const funnel = createShareFunnel({ wx });
  assert.deepEqual(await funnel.posterCode({ productId: 'sku-42', page: '/pages/product/product', width: 600,
    isHyaline: true, ignored: 'x' }), CODE);
  assert.deepEqual(wx.calls, [{ name: 'genWxacode', data: { productId: 'sku-42', page: 'pages/product/product',
    channel: 'poster', width: 600, isHyaline: true } }]);
});

test('posterCode waits out a WeChat rate limit and never rejects', async () => {
  const limited = { ok: false, error: { code: 'RATE_LIMITED', retryable: true, message: '45009' } };
  const wx = createFakeWx({ responses: [limited, CODE] });
  const funnel = createShareFunnel({ wx, setTimeout: immediate });
  assert.equal((await funnel.posterCode({ productId: 'sku-42' })).fileID, CODE.fileID);
  assert.equal(wx.calls.length, 2);
  const broken = createFakeWx({ default: new Error('network down') });
  const failed = await createShareFunnel({ wx: broken, setTimeout: immediate }).posterCode({ productId: 'sku-42' });
  assert.equal(failed.ok, false);
  assert.equal(failed.error.code, 'UNAVAILABLE');
  const bad = createFakeWx({ responses: [{ ok: false, error: { code: 'BAD_PAGE', message: 'publish first' } }] });
  assert.equal((await createShareFunnel({ wx: bad }).posterCode({ productId: 'sku-42' })).error.code, 'BAD_PAGE');
  assert.equal(bad.calls.length, 1); // not retryable: asked once
});
