'use strict';
// 提现 through the kit against a fake WeChat: the confirmation page opens only while WeChat Pay waits for the user,
// with exactly the payout's mchId/appId/package; the page closing is never taken as the money arriving — the payout
// is read back from the server; an old base library is told to update instead.
const test = require('node:test');
const assert = require('node:assert/strict');
const { createShareFunnel } = require('../share-funnel/index');
const { createFakeWx, immediate } = require('./fake-wx');

const WAITING = { ok: true, existing: false, payoutId: 'SF20261118ABCDEF0123456789', state: 'waiting', amountFen: 4000,
  mchId: '1900000109', appId: 'wx3c5e7a9b1d2f4a6c', package: 'ABBQO+oYAAABAAAAAAB' };

function kit(wx) {
  return createShareFunnel({ wx, setTimeout: immediate, random: () => 0 });
}

test('a waiting payout opens WeChat\'s confirmation, then is read back from the server', async () => {
  const wx = createFakeWx({ responses: [WAITING, Object.assign({}, WAITING, { state: 'transferring', package: undefined })] });
  const opened = [];
  wx.canIUse = (name) => name === 'requestMerchantTransfer';
  wx.requestMerchantTransfer = (options) => { opened.push(options); options.success({ result: 'success' }); };
  const payout = await kit(wx).withdraw();
  assert.deepEqual(opened.map((o) => [o.mchId, o.appId, o.package]), [[WAITING.mchId, WAITING.appId, WAITING.package]]);
  assert.equal(payout.state, 'transferring');
  assert.equal(payout.confirmation, 'shown');
  assert.deepEqual(wx.calls.map((c) => [c.name, c.data]), [
    ['rewards', { action: 'withdraw' }],
    ['rewards', { action: 'payout', payoutId: WAITING.payoutId }]
  ]);
});

test('a cancel reported through success (HarmonyOS) is a cancel; an amount is passed on as whole fen', async () => {
  const wx = createFakeWx({ responses: [WAITING, WAITING] });
  wx.canIUse = () => true;
  wx.requestMerchantTransfer = (options) => options.success({ result: 'cancel' });
  const payout = await kit(wx).withdraw({ amountFen: 2000 });
  assert.equal(payout.confirmation, 'cancel');
  assert.deepEqual(wx.calls[0].data, { action: 'withdraw', amountFen: 2000 });
});

test('an old base library opens nothing and says so', async () => {
  const wx = createFakeWx({ responses: [WAITING] });
  wx.canIUse = () => false;
  wx.requestMerchantTransfer = () => { throw new Error('must not open'); };
  const payout = await kit(wx).withdraw();
  assert.equal(payout.confirmation, 'unsupported');
  assert.equal(wx.calls.length, 1);
});

test('a held or refused withdrawal opens no page', async () => {
  const held = { ok: true, payoutId: WAITING.payoutId, state: 'held', amountFen: 4000, hold: { reason: 'risk_rank' } };
  const refused = { ok: false, error: { code: 'PAYOUT_REFUSED', reason: 'below_minimum', minFen: 100 } };
  const wx = createFakeWx({ responses: [held, refused] });
  wx.requestMerchantTransfer = () => { throw new Error('must not open'); };
  assert.deepEqual(await kit(wx).withdraw(), held);
  assert.deepEqual(await kit(wx).withdraw(), refused);
});

test('payouts pages on with the server\'s cursor', async () => {
  const wx = createFakeWx({ responses: [{ ok: true, payouts: [], cursor: '20' }, { ok: true, payouts: [], cursor: null }] });
  const funnel = kit(wx);
  await funnel.payouts();
  await funnel.payouts({ cursor: '20' });
  assert.deepEqual(wx.calls.map((c) => c.data), [{ action: 'payouts' }, { action: 'payouts', cursor: '20' }]);
});
