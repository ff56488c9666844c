'use strict';
// Group attribution in the kit: share tickets on, the group cloudID read from the launch and sent as a plain string,
// and no failure of WeChat's open-data APIs ever blocks or fails the landing.
const test = require('node:test');
const assert = require('node:assert/strict');
const { createShareFunnel } = require('../share-funnel/index');
const { createFakeWx, immediate } = require('./fake-wx');

const OK = { ok: true, recorded: true, productId: 'sku-42', group: null };

function withEnter(wx, enter) {
  wx.getEnterOptionsSync = () => Object.assign({ scene: 1044, query: {} }, enter);
  return wx;
}

function funnelFor(wx, extra) {
  return createShareFunnel(Object.assign({ wx, baseDelayMs: 0, setTimeout: (fn, ms) => setTimeout(fn, ms) }, extra));
}

test('enableGroupSharing turns share tickets on for chat and Moments menus', () => {
  const wx = createFakeWx();
  const shown = [];
  wx.showShareMenu = (options) => shown.push(options);
  funnelFor(wx).enableGroupSharing();
  assert.deepEqual(shown, [{ withShareTicket: true, menus: ['shareAppMessage', 'shareTimeline'] }]);
});

test('enableGroupSharing falls back to updateShareMenu and never throws', () => {
  const wx = createFakeWx();
  const updated = [];
  wx.updateShareMenu = (options) => updated.push(options);
  funnelFor(wx).enableGroupSharing();
  assert.deepEqual(updated, [{ withShareTicket: true }]);
  const broken = createFakeWx();
  broken.showShareMenu = () => { throw new Error('not in this base library'); };
  assert.doesNotThrow(() => funnelFor(broken).enableGroupSharing());
});

test('a group card: getGroupEnterInfo cloudID and chatType go to the land call as plain values', async () => {
  const wx = withEnter(createFakeWx({ default: OK }), { shareTicket: 'ticket-1', chatType: 3 });
  wx.canIUse = (name) => name === 'getGroupEnterInfo';
  wx.getGroupEnterInfo = ({ success }) => success({ cloudID: 'cloud-id-1', encryptedData: 'x', iv: 'y' });
  wx.getShareInfo = () => assert.fail('the old API is not used when the new one exists');
  await funnelFor(wx).recordLanding({ id: 'sku-42', i: 'Ab3dE9' });
  const data = wx.calls[0].data;
  assert.equal(data.groupCloudID, 'cloud-id-1');
  assert.equal(data.chatType, 3);
  assert.equal(typeof data.groupCloudID, 'string');
  assert.equal(data.encryptedData, undefined);
});

test('a single chat resolves too: getGroupEnterInfo is asked with allowSingleChat', async () => {
  const wx = withEnter(createFakeWx({ default: OK }), { shareTicket: 'ticket-s', chatType: 1 });
  wx.canIUse = (name) => name === 'getGroupEnterInfo';
  let options = null;
  wx.getGroupEnterInfo = (given) => { options = given; given.success({ cloudID: 'cloud-id-single' }); };
  await funnelFor(wx).recordLanding({ id: 'sku-42', i: 'Ab3dE9' });
  assert.equal(options.allowSingleChat, true); // without it WeChat never returns open_single_roomid
  assert.equal(wx.calls[0].data.groupCloudID, 'cloud-id-single');
});

test('an old base library uses wx.getShareInfo with the shareTicket', async () => {
  const wx = withEnter(createFakeWx({ default: OK }), { shareTicket: 'ticket-2' });
  let asked = null;
  wx.getShareInfo = ({ shareTicket, success }) => { asked = shareTicket; success({ cloudID: 'cloud-id-2' }); };
  await funnelFor(wx).recordLanding({ id: 'sku-42', i: 'Ab3dE9' });
  assert.equal(asked, 'ticket-2');
  assert.equal(wx.calls[0].data.groupCloudID, 'cloud-id-2');
});

test('no shareTicket: no open-data API is called and no group is sent', async () => {
  const wx = withEnter(createFakeWx({ default: OK }), { scene: 1007 });
  wx.getGroupEnterInfo = () => assert.fail('no ticket, no call');
  wx.getShareInfo = () => assert.fail('no ticket, no call');
  await funnelFor(wx).recordLanding({ id: 'sku-42', i: 'Ab3dE9' });
  assert.equal(wx.calls.length, 1);
  assert.equal(wx.calls[0].data.groupCloudID, undefined);
});

test('a failing open-data API records the landing without a group', async () => {
  for (const failing of [({ fail }) => fail({ errMsg: 'getGroupEnterInfo:fail 40097' }),
    () => { throw new Error('boom'); }, ({ success }) => success({ errMsg: 'no cloudID here' })]) {
    const wx = withEnter(createFakeWx({ default: OK }), { shareTicket: 'ticket-3', chatType: 3 });
    wx.getGroupEnterInfo = failing;
    const result = await funnelFor(wx).recordLanding({ id: 'sku-42', i: 'Ab3dE9' });
    assert.equal(result.ok, true);
    assert.equal(wx.calls.length, 1);
    assert.equal(wx.calls[0].data.groupCloudID, undefined);
    assert.equal(wx.calls[0].data.chatType, 3);
  }
});

test('an open-data API that never answers does not hold the landing back', async () => {
  const wx = withEnter(createFakeWx({ default: OK }), { shareTicket: 'ticket-4' });
  wx.getGroupEnterInfo = () => {}; // never calls back
  const started = Date.now();
  const result = await funnelFor(wx).recordLanding({ id: 'sku-42', i: 'Ab3dE9' });
  assert.equal(result.ok, true);
  assert.ok(Date.now() - started < 3000);
  assert.equal(wx.calls[0].data.groupCloudID, undefined);
});

test('the kit resolves with the server answer: product and group for the page', async () => {
  const answer = { ok: true, recorded: true, productId: '5f8d0d55b54764421b7156c9', channel: 'poster_spring',
    group: { alias: 'g-1a2b3c4d5e', chatType: 'group' } };
  const wx = withEnter(createFakeWx({ default: answer }), { shareTicket: 't', scene: 1044 });
  wx.getGroupEnterInfo = ({ success }) => success({ cloudID: 'c' });
  const result = await funnelFor(wx, { setTimeout: immediate }).recordLanding({ scene: '2Q7wErTy12a' });
  assert.equal(result.productId, '5f8d0d55b54764421b7156c9');
  assert.equal(result.group.alias, 'g-1a2b3c4d5e');
});
