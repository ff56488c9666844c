// Example promoter centre ("我的推广") using the Share Funnel kit: totals, 提现 into WeChat 零钱, the team with expiry
// dates, credited orders, the rank, and a button to the poster. Copy it with share-funnel/ into your mini program; identity comes from the
// platform, so the page sends none. Amounts arrive in whole fen and are shown as yuan.
const { createShareFunnel } = require('../../share-funnel/index');

const funnel = createShareFunnel({ wx, page: 'pages/product/product' });

function yuan(fen) {
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

function day(iso) {
  return iso ? iso.slice(0, 10) : '长期';
}

const STATUS = { active: '有效', expired: '已过期', taken: '已被他人绑定' };
const PAYOUT_STATE = {
  paid: '已到账',
  transferring: '到账中',
  waiting: '请在微信确认收款',
  sending: '提现处理中',
  held: '提现审核中',
  failed: '提现未成功，奖励已退回',
  cancelled: '提现已取消，奖励已退回',
  rejected: '提现未通过审核'
};

Page({
  data: { centre: null, members: [], teamCursor: null, orders: [], ordersCursor: null, error: '' },

  onLoad() {
    this.refresh();
  },

  refresh() {
    return Promise.all([funnel.promoterCentre(), funnel.myTeam(), funnel.myOrders()]).then(([centre, team, orders]) => {
      if (!centre.ok || !team.ok || !orders.ok) {
        this.setData({ error: '暂时无法读取，请稍后重试' });
        return;
      }
      this.setData({
        error: '',
        centre: {
          earned: yuan(centre.earnedFen),
          pending: yuan(centre.pendingFen),
          available: yuan(centre.availableFen),
          paying: yuan(centre.payingFen || 0),
          paid: yuan(centre.paidFen),
          yesterday: yuan(centre.yesterdayFen),
          members: centre.members,
          rank: centre.rank
        },
        members: team.members.map(this.member),
        teamCursor: team.cursor,
        orders: orders.orders.map(this.order),
        ordersCursor: orders.cursor
      });
    });
  },

  member(m) {
    return {
      name: m.nickname || m.code || '好友',
      avatar: m.avatarFileID || '',
      since: day(m.boundAt),
      until: m.status === 'active' ? day(m.expiresAt) : '',
      status: STATUS[m.status] || m.status,
      orders: m.orders,
      amount: yuan(m.amountFen)
    };
  },

  order(o) {
    return { placed: day(o.placedAt), product: o.productId || '', amount: yuan(o.amountFen), reward: yuan(o.rewardFen),
      state: o.state };
  },

  moreTeam() {
    if (!this.data.teamCursor) return Promise.resolve();
    return funnel.myTeam({ cursor: this.data.teamCursor }).then((team) => {
      if (team.ok) this.setData({ members: this.data.members.concat(team.members.map(this.member)), teamCursor: team.cursor });
    });
  },

  moreOrders() {
    if (!this.data.ordersCursor) return Promise.resolve();
    return funnel.myOrders({ cursor: this.data.ordersCursor }).then((orders) => {
      if (orders.ok) {
        this.setData({ orders: this.data.orders.concat(orders.orders.map(this.order)), ordersCursor: orders.cursor });
      }
    });
  },

  // 提现: everything available goes into WeChat 零钱 after the user confirms on WeChat's own page.
  withdraw() {
    return funnel.withdraw().then((payout) => {
      if (!payout.ok) {
        const reason = payout.error && payout.error.reason;
        const text = reason === 'below_minimum' ? `满 ¥${yuan(payout.error.minFen || 0)} 可提现`
          : reason === 'daily_limit' ? '今天的提现次数已用完' : '暂时无法提现，请稍后重试';
        wx.showToast({ title: text, icon: 'none' });
        return this.refresh();
      }
      const text = payout.confirmation === 'unsupported' ? '请升级微信后再提现'
        : PAYOUT_STATE[payout.state] || '提现处理中';
      wx.showToast({ title: text, icon: payout.state === 'paid' ? 'success' : 'none' });
      return this.refresh();
    });
  },

  toPoster() {
    wx.navigateTo({ url: '/pages/product/product' });
  }
});
