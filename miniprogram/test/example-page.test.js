'use strict';
// The example page runs against a fake WeChat: it shows the product from the link, records the landing,
// and returns valid share values.
const test = require('node:test');
const assert = require('node:assert/strict');
const { createFakeWx } = require('./fake-wx');

test('the example page records its landing and shares through the kit', async () => {
  const wx = createFakeWx({ scene: 1007, responses: [
    { ok: true, recorded: true, duplicate: false, newUser: true, attributedTo: 'Ab3dE9', channel: 'chat', entry: 'chat' },
    { ok: true, inviterCode: 'Zz9Yy8', path: '/pages/product/product?id=sku-7&i=Zz9Yy8&c=chat', query: 'id=sku-7&i=Zz9Yy8&c=chat' },
    { ok: true, inviterCode: 'Zz9Yy8', path: '/pages/product/product?id=sku-7&i=Zz9Yy8&c=timeline', query: 'id=sku-7&i=Zz9Yy8&c=timeline' },
    { ok: true, fileID: 'cloud://env.7465/wxacodes/ab/ab.jpg', scene: '1pZz9Yy8.sku-7', page: 'pages/product/product',
      contentType: 'image/jpeg', cached: false },
    { ok: true, avatarFileID: 'cloud://env.7465/share-funnel/avatars/x.jpg', nickname: null },
    { ok: true, avatarFileID: 'cloud://env.7465/share-funnel/avatars/x.jpg', nickname: '小明' },
    { ok: true, fileID: 'cloud://env.7465/posters/cd/cd.jpg', scene: '1pZz9Yy8.sku-7', page: 'pages/product/product',
      path: '/pages/product/product?id=sku-7&i=Zz9Yy8&c=poster', width: 1080, height: 1920, cached: false }
  ] });
  wx.cloud.uploadFile = (options) => options.success({ fileID: 'cloud://env.7465/share-funnel/avatars/x.jpg' });
  let definition;
  global.wx = wx;
  global.Page = (config) => { definition = config; };
  require('../pages/product/product.js');
  const page = Object.assign({ data: {} }, definition, {
    setData(values) { Object.assign(this.data, values); }
  });
  page.data = Object.assign({}, definition.data);
  page.onLoad({ id: 'sku-7', i: 'Ab3dE9', c: 'chat' });
  assert.equal(page.data.productId, 'sku-7');
  assert.equal(page.data.invitedBy, 'Ab3dE9');
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(page.data.welcome, true);
  assert.deepEqual(wx.calls[0].data, { action: 'land', query: { id: 'sku-7', i: 'Ab3dE9', c: 'chat' },
    page: 'pages/product/product', launchScene: 1007 });
  const share = page.onShareAppMessage();
  assert.equal((await share.promise).path, '/pages/product/product?id=sku-7&i=Zz9Yy8&c=chat');
  assert.equal(page.onShareTimeline().query, 'id=sku-7&i=Zz9Yy8&c=timeline');
  await page.showPosterCode();
  assert.equal(page.data.posterCode, 'cloud://env.7465/wxacodes/ab/ab.jpg');
  assert.deepEqual(wx.calls[wx.calls.length - 1], { name: 'genWxacode',
    data: { productId: 'sku-7', page: 'pages/product/product', channel: 'poster' } });
  // The poster flow: avatar and nickname as chosen through WeChat's components, then the poster itself.
  await page.onChooseAvatar({ detail: { avatarUrl: 'http://tmp/avatar.jpg' } });
  assert.deepEqual(wx.calls[wx.calls.length - 1].data, { action: 'profile',
    avatarFileID: 'cloud://env.7465/share-funnel/avatars/x.jpg' });
  page.onNicknameInput({ detail: { value: '小明' } });
  assert.equal(await page.onNicknameReview({ detail: { pass: false, timeout: false } }), null); // refused: not saved
  await page.onNicknameReview({ detail: { pass: true, timeout: false } });
  assert.deepEqual(wx.calls[wx.calls.length - 1].data, { action: 'profile', nickname: '小明' });
  await page.showPoster();
  assert.equal(page.data.poster, 'cloud://env.7465/posters/cd/cd.jpg');
  assert.deepEqual(wx.calls[wx.calls.length - 1].data, { action: 'poster', productId: 'sku-7', channel: 'poster',
    page: 'pages/product/product' });
  assert.equal(page.onAddToFavorites().query, 'id=sku-7&i=Zz9Yy8&c=favorite');
  delete global.wx;
  delete global.Page;
});
