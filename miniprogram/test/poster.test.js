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

const POSTER = { ok: true, fileID: 'cloud://prod-1.7465-prod-1-1250000000/posters/cd/cd34.jpg', scene: '1pAb3dE9.sku-42',
  page: 'pages/product/product', path: '/pages/product/product?id=sku-42&i=Ab3dE9&c=poster', contentType: 'image/jpeg',
  width: 1080, height: 1920, template: 'default', cached: true };

test('posterImage asks genWxacode for the sharer\'s own poster', async () => {
  const wx = createFakeWx({ responses: [POSTER] });
  const funnel = createShareFunnel({ wx });
  assert.deepEqual(await funnel.posterImage({ productId: 'sku-42', template: 'spring', page: '/pages/product/product' }), POSTER);
  assert.deepEqual(wx.calls, [{ name: 'genWxacode', data: { action: 'poster', productId: 'sku-42', channel: 'poster',
    page: 'pages/product/product', template: 'spring' } }]);
});

test('sharePoster opens WeChat\'s share sheet with a mini program entrance at the sharer\'s own path', async () => {
  const wx = createFakeWx({ responses: [POSTER] });
  const downloads = [];
  const menus = [];
  wx.cloud.downloadFile = (options) => { downloads.push(options.fileID); options.success({ tempFilePath: 'wxfile://tmp/p.jpg', statusCode: 200 }); };
  wx.showShareImageMenu = (options) => { menus.push(Object.assign({}, options)); options.success({}); };
  const answer = await createShareFunnel({ wx }).sharePoster({ productId: 'sku-42' });
  assert.equal(answer.shown, 'shareImageMenu');
  assert.deepEqual(downloads, [POSTER.fileID]);
  assert.equal(menus[0].path, 'wxfile://tmp/p.jpg');
  assert.equal(menus[0].needShowEntrance, true);
  assert.equal(menus[0].entrancePath, 'pages/product/product?id=sku-42&i=Ab3dE9&c=poster');
});

test('sharePoster falls back to a preview where the share sheet is missing, and never rejects', async () => {
  const wx = createFakeWx({ responses: [POSTER] });
  const previews = [];
  wx.previewImage = (options) => { previews.push(options.urls); options.success({}); };
  assert.equal((await createShareFunnel({ wx }).sharePoster({ productId: 'sku-42' })).shown, 'preview');
  assert.deepEqual(previews, [[POSTER.fileID]]);
  const failing = createFakeWx({ responses: [POSTER] });
  failing.cloud.downloadFile = (options) => options.fail({ errMsg: 'cloud.downloadFile:fail' });
  failing.showShareImageMenu = () => assert.fail('no sheet without the file');
  const answer = await createShareFunnel({ wx: failing }).sharePoster({ productId: 'sku-42' });
  assert.equal(answer.shown, false);
  assert.equal(answer.error.code, 'CLIENT');
  const refused = createFakeWx({ responses: [{ ok: false, error: { code: 'BAD_INPUT', message: 'no template' } }] });
  assert.equal((await createShareFunnel({ wx: refused }).sharePoster({ productId: 'sku-42', template: 'x' })).shown, false);
});

test('chooseProfile uploads the chosen avatar, then saves it with the nickname through recordShare', async () => {
  const saved = { ok: true, nickname: '小明', avatarFileID: 'cloud://prod-1.7465/share-funnel/avatars/a.png' };
  const wx = createFakeWx({ responses: [saved] });
  const uploads = [];
  wx.cloud.uploadFile = (options) => { uploads.push(options); options.success({ fileID: saved.avatarFileID, statusCode: 200 }); };
  const answer = await createShareFunnel({ wx }).chooseProfile({ avatarUrl: 'http://tmp/abc.PNG', nickname: '小明' });
  assert.deepEqual(answer, saved);
  assert.equal(uploads[0].filePath, 'http://tmp/abc.PNG');
  assert.match(uploads[0].cloudPath, /^share-funnel\/avatars\/[0-9a-z]+\.png$/);
  assert.deepEqual(wx.calls, [{ name: 'recordShare', data: { action: 'profile', avatarFileID: saved.avatarFileID, nickname: '小明' } }]);
});

test('chooseProfile saves a reviewed nickname alone, and a failed upload saves nothing', async () => {
  const wx = createFakeWx({ responses: [{ ok: true, nickname: '明明', avatarFileID: null }] });
  await createShareFunnel({ wx }).chooseProfile({ nickname: '明明' });
  assert.deepEqual(wx.calls[0].data, { action: 'profile', nickname: '明明' });
  const broken = createFakeWx();
  broken.cloud.uploadFile = (options) => options.fail({ errMsg: 'cloud.uploadFile:fail network' });
  const answer = await createShareFunnel({ wx: broken }).chooseProfile({ avatarUrl: 'http://tmp/a.jpg' });
  assert.equal(answer.ok, false);
  assert.equal(answer.error.code, 'CLIENT');
  assert.deepEqual(broken.calls, []);
});

test('favorite carries the remembered inviter code, as the Moments share does', () => {
  const wx = createFakeWx({ storage: { 'shareFunnel.inviterCode': 'Ab3dE9' }, default: { ok: true } });
  const value = createShareFunnel({ wx }).favorite({ productId: 'sku-42', title: 'Tea' });
  assert.deepEqual(value, { title: 'Tea', query: 'id=sku-42&i=Ab3dE9&c=favorite' });
});
