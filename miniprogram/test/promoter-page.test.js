'use strict';
// The example promoter centre runs against a fake WeChat: totals shown as yuan from fen, the team with its statuses
// and dates, credited orders, and the next pages through the cursors the server answered.
const test = require('node:test');
const assert = require('node:assert/strict');
const { createFakeWx } = require('./fake-wx');

test('the promoter page shows the centre, the team and the orders, and pages on', async () => {
  const wx = createFakeWx({ responses: [
    { ok: true, earnedFen: 123456, pendingFen: 1000, availableFen: -30, paidFen: 122486, yesterdayFen: 5, members: 2,
      rank: { byMembers: 3, byEarned: 1 } },
    { ok: true, total: 51, cursor: '50', members: [
      { code: null, nickname: '小林', boundAt: '2026-11-03T01:00:00+00:00', expiresAt: '2026-12-03T01:00:00+00:00',
        protectedUntil: null, status: 'active', orders: 2, amountFen: 6800 },
      { code: 'Ab3dE9', boundAt: '2026-10-01T01:00:00+00:00', expiresAt: null, protectedUntil: null, status: 'taken',
        orders: 0, amountFen: 0 }
    ] },
    { ok: true, cursor: null, orders: [
      { placedAt: '2026-11-05T01:00:00+00:00', productId: 'sku-42', amountFen: 9900, state: 'pending', rewardFen: 500 }
    ] },
    { ok: true, total: 51, cursor: null, members: [
      { code: null, boundAt: '2026-09-01T01:00:00+00:00', expiresAt: '2026-10-01T01:00:00+00:00', protectedUntil: null,
        status: 'expired', orders: 1, amountFen: 100 }
    ] }
  ] });
  let definition;
  global.wx = wx;
  global.Page = (config) => { definition = config; };
  require('../pages/promoter/promoter.js');
  const page = Object.assign({}, definition, { setData(values) { Object.assign(this.data, values); } });
  page.data = Object.assign({}, definition.data);
  await page.refresh();
  assert.deepEqual(page.data.centre, { earned: '1234.56', pending: '10.00', available: '-0.30', paying: '0.00',
    paid: '1224.86', yesterday: '0.05', members: 2, rank: { byMembers: 3, byEarned: 1 } });
  assert.deepEqual(page.data.members[0], { name: '小林', avatar: '', since: '2026-11-03', until: '2026-12-03',
    status: '有效', orders: 2, amount: '68.00' });
  assert.equal(page.data.members[1].status, '已被他人绑定');
  assert.deepEqual(page.data.orders, [{ placed: '2026-11-05', product: 'sku-42', amount: '99.00', reward: '5.00',
    state: 'pending' }]);
  assert.deepEqual(wx.calls.slice(0, 3).map((c) => [c.name, c.data.action]),
    [['rewards', 'myCentre'], ['recordShare', 'myTeam'], ['rewards', 'myOrders']]);
  await page.moreTeam();
  assert.equal(page.data.members.length, 3);
  assert.equal(page.data.teamCursor, null);
  assert.deepEqual(wx.calls[3].data, { action: 'myTeam', cursor: '50' });
  await page.moreOrders(); // no cursor: nothing asked
  assert.equal(wx.calls.length, 4);
});

test('the 提现 button withdraws, tells the user what happens next and refreshes the totals', async () => {
  const centre = { ok: true, earnedFen: 4000, pendingFen: 0, availableFen: 4000, payingFen: 0, paidFen: 0,
    yesterdayFen: 0, members: 2, rank: { byMembers: null, byEarned: null } };
  const empty = [{ ok: true, total: 0, members: [], cursor: null }, { ok: true, orders: [], cursor: null }];
  const wx = createFakeWx({ responses: [
    { ok: false, error: { code: 'PAYOUT_REFUSED', reason: 'below_minimum', minFen: 100, availableFen: 30 } },
    centre, ...empty,
    { ok: true, payoutId: 'SF20261118ABCDEF0123456789', state: 'held', amountFen: 4000, hold: { reason: 'risk_rank' } },
    Object.assign({}, centre, { availableFen: 0, payingFen: 4000 }), ...empty
  ] });
  const toasts = [];
  wx.showToast = (options) => toasts.push(options.title);
  let definition;
  global.wx = wx;
  global.Page = (config) => { definition = config; };
  delete require.cache[require.resolve('../pages/promoter/promoter.js')];
  require('../pages/promoter/promoter.js');
  const page = Object.assign({}, definition, { setData(values) { Object.assign(this.data, values); } });
  page.data = Object.assign({}, definition.data);
  await page.withdraw();
  await page.withdraw();
  assert.deepEqual(toasts, ['满 ¥1.00 可提现', '提现审核中']);
  assert.equal(page.data.centre.paying, '40.00');
  assert.equal(page.data.centre.available, '0.00');
});
