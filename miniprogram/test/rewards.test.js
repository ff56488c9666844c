'use strict';
// The kit's reward calls: the inviter's own rewards (identity from the platform), and subscribe-message accepts
// passed to the server that counts them.
const test = require('node:test');
const assert = require('node:assert/strict');
const { createShareFunnel } = require('../share-funnel/index');
const { createFakeWx, immediate } = require('./fake-wx');

test('myRewards calls the rewards function with no identity of its own', async () => {
  const wx = createFakeWx({ default: { ok: true, amounts: { pending: 15 }, rewards: [] } });
  const result = await createShareFunnel({ wx, setTimeout: immediate }).myRewards();
  assert.equal(result.amounts.pending, 15);
  assert.deepEqual(wx.calls[0], { name: 'rewards', data: { action: 'myRewards' } });
});

test('subscribeRewardNotices forwards what the user answered per template', async () => {
  const wx = createFakeWx({ default: { ok: true, counted: 1 } });
  wx.requestSubscribeMessage = ({ tmplIds, success }) => success({ errMsg: 'ok', [tmplIds[0]]: 'accept', [tmplIds[1]]: 'reject' });
  const result = await createShareFunnel({ wx, setTimeout: immediate }).subscribeRewardNotices(['t-approved', 't-paid']);
  assert.equal(result.counted, 1);
  assert.deepEqual(wx.calls[0].data, { action: 'subscribe', templates: { 't-approved': 'accept', 't-paid': 'reject' } });
});

test('a refused or unavailable subscription dialog resolves, never rejects, and calls nothing', async () => {
  const wx = createFakeWx();
  wx.requestSubscribeMessage = ({ fail }) => fail({ errMsg: 'requestSubscribeMessage:fail can only be invoked by user TAP' });
  const result = await createShareFunnel({ wx, setTimeout: immediate }).subscribeRewardNotices(['t']);
  assert.equal(result.ok, false);
  assert.equal(wx.calls.length, 0);
  const old = await createShareFunnel({ wx: createFakeWx(), setTimeout: immediate }).subscribeRewardNotices(['t']);
  assert.equal(old.ok, false);
});

test('myTeam asks recordShare for the caller team, page by page', async () => {
  const wx = createFakeWx({ default: { ok: true, total: 51, members: [], cursor: '50' } });
  const funnel = createShareFunnel({ wx, setTimeout: immediate });
  const first = await funnel.myTeam();
  assert.equal(first.cursor, '50');
  await funnel.myTeam({ cursor: first.cursor });
  assert.deepEqual(wx.calls[0], { name: 'recordShare', data: { action: 'myTeam' } });
  assert.deepEqual(wx.calls[1].data, { action: 'myTeam', cursor: '50' });
});

test('promoterCentre and myOrders ask the rewards function for the caller own figures', async () => {
  const wx = createFakeWx({ default: { ok: true, orders: [], cursor: null } });
  const funnel = createShareFunnel({ wx, setTimeout: immediate });
  await funnel.promoterCentre();
  await funnel.myOrders({ cursor: '50' });
  assert.deepEqual(wx.calls[0], { name: 'rewards', data: { action: 'myCentre' } });
  assert.deepEqual(wx.calls[1], { name: 'rewards', data: { action: 'myOrders', cursor: '50' } });
});
