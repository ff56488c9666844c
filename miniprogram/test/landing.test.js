'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { createShareFunnel } = require('../share-funnel/index');
const { createFakeWx, immediate } = require('./fake-wx');

const RECORDED = { ok: true, recorded: true, duplicate: false, newUser: true, attributedTo: 'Ab3dE9', channel: 'chat', entry: 'chat' };
const UNAVAILABLE = { ok: false, error: { code: 'UNAVAILABLE', message: 'db down', retryable: true } };

test('recordLanding forwards onLoad options as-is with the launch scene', async () => {
  const wx = createFakeWx({ scene: 1047, responses: [RECORDED] });
  const funnel = createShareFunnel({ wx });
  const options = { scene: '1pAb3dE9.sku-42' };
  assert.deepEqual(await funnel.recordLanding(options, { page: '/pages/product/product' }), RECORDED);
  assert.deepEqual(wx.calls, [{ name: 'recordShare',
    data: { action: 'land', query: options, page: 'pages/product/product', launchScene: 1047 } }]);
});

test('in Moments single-page mode it does not call and keeps the parameters', async () => {
  const wx = createFakeWx({ scene: 1154 });
  const funnel = createShareFunnel({ wx });
  const result = await funnel.recordLanding({ id: 'sku-42', i: 'Ab3dE9', c: 'timeline' });
  assert.equal(result.skipped, 'single_page_mode');
  assert.equal(result.entry.inviter, 'Ab3dE9'); // the page can still show the right product
  assert.equal(wx.calls.length, 0);
  assert.equal(wx.storage.get('shareFunnel.pendingLandings').length, 1);
});

test('the next full launch replays the kept landing, then records its own', async () => {
  const wx = createFakeWx({ scene: 1154, responses: [RECORDED, { ok: true, recorded: false, duplicate: false, reason: 'no_inviter' }] });
  const funnel = createShareFunnel({ wx });
  await funnel.recordLanding({ id: 'sku-42', i: 'Ab3dE9', c: 'timeline' });
  wx.scene = 1155;
  const own = await funnel.recordLanding({ id: 'sku-42' });
  assert.equal(own.reason, 'no_inviter');
  assert.deepEqual(wx.calls.map((c) => [c.data.query.i, c.data.launchScene]), [['Ab3dE9', 1154], [undefined, 1155]]);
  assert.equal(wx.storage.has('shareFunnel.pendingLandings'), false);
});

test('an organic single-page visit keeps nothing', async () => {
  const wx = createFakeWx({ scene: 1154 });
  await createShareFunnel({ wx }).recordLanding({ id: 'sku-42' });
  assert.equal(wx.storage.has('shareFunnel.pendingLandings'), false);
});

test('UNAVAILABLE is retried with backoff, then succeeds', async () => {
  const delays = [];
  const wx = createFakeWx({ responses: [UNAVAILABLE, UNAVAILABLE, RECORDED] });
  const funnel = createShareFunnel({ wx, baseDelayMs: 100, random: () => 0,
    setTimeout: (fn, ms) => { delays.push(ms); fn(); } });
  assert.deepEqual(await funnel.recordLanding({ id: 'sku-42', i: 'Ab3dE9' }), RECORDED);
  assert.deepEqual(delays, [100, 200]);
  assert.equal(wx.calls.length, 3);
});

test('other errors are not retried and are returned, not thrown', async () => {
  const wx = createFakeWx({ responses: [{ ok: false, error: { code: 'UNKNOWN_INVITER', message: 'no' } }] });
  const result = await createShareFunnel({ wx, setTimeout: immediate }).recordLanding({ id: 'sku-42', i: 'Zz9Yy8' });
  assert.equal(result.error.code, 'UNKNOWN_INVITER');
  assert.equal(wx.calls.length, 1);
});

test('a transport failure on every attempt resolves to a retryable error', async () => {
  const wx = createFakeWx({ default: new Error('request:fail timeout') });
  const result = await createShareFunnel({ wx, setTimeout: immediate }).recordLanding({ id: 'sku-42', i: 'Ab3dE9' });
  assert.equal(result.ok, false);
  assert.equal(result.error.code, 'UNAVAILABLE');
  assert.equal(wx.calls.length, 3);
});

test('recordLanding never blocks: it returns a promise at once even if the call never answers', () => {
  const wx = createFakeWx({ responses: [() => new Promise(() => {})] });
  const pending = createShareFunnel({ wx }).recordLanding({ id: 'sku-42', i: 'Ab3dE9' });
  assert.ok(pending instanceof Promise);
});

test('a retryable failure during replay keeps the landing for the next launch', async () => {
  const wx = createFakeWx({ scene: 1154, responses: [UNAVAILABLE, UNAVAILABLE, UNAVAILABLE, RECORDED] });
  const funnel = createShareFunnel({ wx, setTimeout: immediate });
  await funnel.recordLanding({ id: 'sku-42', i: 'Ab3dE9', c: 'timeline' });
  wx.scene = 1007;
  await funnel.recordLanding({ id: 'sku-7', i: 'Ab3dE9', c: 'chat' });
  assert.equal(wx.storage.get('shareFunnel.pendingLandings').length, 1);
});
