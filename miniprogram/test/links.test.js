'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { createShareFunnel } = require('../share-funnel/index');
const { createFakeWx } = require('./fake-wx');

const LINK = { ok: true, kind: 'urllink', link: 'https://wxaurl.cn/AbCdEf', path: '/pages/product/product?id=sku-42&i=Ab3dE9&c=chat',
  expiresAt: '2026-12-31T10:00:00+00:00', cached: false };

test('shareLink asks genWxacode for the sharer\'s own link of a kind', async () => {
  const wx = createFakeWx({ responses: [LINK] });
  const funnel = createShareFunnel({ wx });
  assert.deepEqual(await funnel.shareLink({ productId: 'sku-42', kind: 'urllink', page: '/pages/product/product' }), LINK);
  assert.deepEqual(wx.calls, [{ name: 'genWxacode', data: { action: 'link', kind: 'urllink', productId: 'sku-42',
    channel: 'chat', page: 'pages/product/product' } }]);
});

test('a spent quota is answered, not retried, and nothing is copied', async () => {
  const spent = { ok: false, error: { code: 'QUOTA_EXHAUSTED', message: 'today\'s links are made' } };
  const wx = createFakeWx({ responses: [spent] });
  const copies = [];
  wx.setClipboardData = (options) => { copies.push(options.data); options.success(); };
  const answer = await createShareFunnel({ wx }).copyShareLink({ productId: 'sku-42', kind: 'scheme' });
  assert.equal(answer.error.code, 'QUOTA_EXHAUSTED');
  assert.equal(answer.copied, false);
  assert.deepEqual(copies, []);
  assert.equal(wx.calls.length, 1);
});

test('copyShareLink puts the link on the clipboard', async () => {
  const wx = createFakeWx({ responses: [LINK] });
  const copies = [];
  wx.setClipboardData = (options) => { copies.push(options.data); options.success(); };
  const answer = await createShareFunnel({ wx }).copyShareLink({ productId: 'sku-42', kind: 'shortlink', title: '春季上新' });
  assert.equal(answer.copied, true);
  assert.deepEqual(copies, [LINK.link]);
  assert.equal(wx.calls[0].data.title, '春季上新');
});
