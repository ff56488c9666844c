'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { createShareFunnel, IMAGE_RATIO } = require('../share-funnel/index');
const { createFakeWx, immediate } = require('./fake-wx');

const SHARED = { ok: true, inviterCode: 'Ab3dE9', productId: 'sku-42', channel: 'chat',
  path: '/pages/product/product?id=sku-42&i=Ab3dE9&c=chat', query: 'id=sku-42&i=Ab3dE9&c=chat' };

test('shareMessage resolves to the server path and remembers the inviter code', async () => {
  const wx = createFakeWx({ responses: [SHARED] });
  const funnel = createShareFunnel({ wx });
  const value = funnel.shareMessage({ productId: 'sku-42', title: 'Tea', imageUrl: 'cover-5x4.png' });
  assert.equal(value.path, '/pages/product/product?id=sku-42'); // fallback while the call runs
  assert.deepEqual(await value.promise, { title: 'Tea', path: SHARED.path, imageUrl: 'cover-5x4.png' });
  assert.deepEqual(wx.calls[0], { name: 'recordShare',
    data: { action: 'share', productId: 'sku-42', channel: 'chat', page: 'pages/product/product' } });
  assert.equal(wx.storage.get('shareFunnel.inviterCode'), 'Ab3dE9');
});

test('shareMessage falls back before WeChat gives up when the server is slow', async () => {
  const wx = createFakeWx({ storage: { 'shareFunnel.inviterCode': 'Ab3dE9' },
    responses: [() => new Promise(() => {})] });
  const funnel = createShareFunnel({ wx, shareBudgetMs: 20 });
  const value = funnel.shareMessage({ productId: 'sku-42', title: 'Tea', page: '/pages/product/product' });
  const resolved = await value.promise;
  assert.equal(resolved.path, '/pages/product/product?id=sku-42&i=Ab3dE9&c=chat'); // remembered code keeps attribution
});

test('shareMessage falls back when the call fails', async () => {
  const wx = createFakeWx({ responses: [new Error('network'), new Error('network'), new Error('network')] });
  const funnel = createShareFunnel({ wx, setTimeout: immediate, shareBudgetMs: 1000 });
  const resolved = await funnel.shareMessage({ productId: 'sku-42', title: 'Tea' }).promise;
  assert.equal(resolved.path, '/pages/product/product?id=sku-42');
});

test('shareTimeline returns a query synchronously and records the intent in the background', async () => {
  const wx = createFakeWx({ storage: { 'shareFunnel.inviterCode': 'Ab3dE9' },
    responses: [Object.assign({}, SHARED, { channel: 'timeline' })] });
  const funnel = createShareFunnel({ wx });
  const value = funnel.shareTimeline({ productId: 'sku-42', title: 'Tea', imageUrl: 'cover-1x1.png' });
  assert.deepEqual(value, { title: 'Tea', query: 'id=sku-42&i=Ab3dE9&c=timeline', imageUrl: 'cover-1x1.png' });
  await new Promise((r) => setImmediate(r));
  assert.equal(wx.calls[0].data.channel, 'timeline');
});

test('share images follow WeChat ratios', () => {
  assert.equal(IMAGE_RATIO.chat, 1.25);
  assert.equal(IMAGE_RATIO.timeline, 1);
});
