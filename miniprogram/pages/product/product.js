// Example product page using the Share Funnel kit. Copy share-funnel/ into your mini program and call
// wx.cloud.init({ env: '<your CloudBase env id>' }) in app.js before any page loads.
const { createShareFunnel } = require('../../share-funnel/index');

const PAGE = 'pages/product/product';
const funnel = createShareFunnel({ wx, page: PAGE });

Page({
  data: { productId: '', invitedBy: null, welcome: false, posterCode: '', posterError: '', linkHint: '',
    poster: '', avatar: '', nickname: '', profileHint: '' },

  onLoad(options) {
    funnel.enableGroupSharing(); // group cards carry a shareTicket, so landings learn which group they came from
    // Decode locally first so the right product shows before the server answers.
    const entry = funnel.parseEntry(options);
    this.setData({
      productId: entry.productId || options.id || 'sku-42',
      invitedBy: entry.kind === 'claim' ? entry.inviter : null
    });
    // Never awaited before rendering; the kit retries UNAVAILABLE and keeps 1154 visits for later.
    funnel.recordLanding(options, { page: PAGE }).then((result) => {
      if (!result || !result.ok) return;
      // A scanned token scene ('2…') carries no product locally: the server's answer names it.
      const update = result.productId ? { productId: result.productId } : {};
      if (result.newUser) update.welcome = true;
      this.setData(update);
    });
  },

  onShareAppMessage() {
    return funnel.shareMessage({ productId: this.data.productId, title: '送你一盒好茶', page: PAGE,
      imageUrl: '/images/share-5x4.png' }); // 5:4 for chat cards
  },

  // "Share a poster" button: the sharer's own Mini Program Code (cached server-side; recorded as a share intent).
  showPosterCode() {
    return funnel.posterCode({ productId: this.data.productId, page: PAGE }).then((code) => {
      this.setData(code.ok ? { posterCode: code.fileID, posterError: '' }
        : { posterError: code.error.code === 'BAD_PAGE' ? '请先发布该页面' : '生成失败，请稍后再试' });
    });
  },

  // "My poster" button: the campaign poster with the sharer's code, avatar and nickname (rendered and cached server-side).
  showPoster() {
    return funnel.posterImage({ productId: this.data.productId, page: PAGE }).then((poster) => {
      this.setData(poster.ok ? { poster: poster.fileID, posterError: '' } : { posterError: '海报生成失败，请稍后再试' });
    });
  },

  // "Share the poster" button: WeChat's share sheet (send to a friend, save to the album, favourite).
  sharePoster() {
    return funnel.sharePoster({ productId: this.data.productId, page: PAGE }).then((answer) => {
      if (!answer.ok) this.setData({ posterError: '海报生成失败，请稍后再试' });
    });
  },

  // <button open-type="chooseAvatar"> and <input type="nickname">: what the sharer chose goes on their poster.
  onChooseAvatar(e) {
    this.setData({ avatar: e.detail.avatarUrl });
    return funnel.chooseProfile({ avatarUrl: e.detail.avatarUrl });
  },

  onNicknameInput(e) {
    this.setData({ nickname: e.detail.value });
  },

  onNicknameReview(e) {
    // WeChat checks the nickname when the input loses focus; only a nickname that passed is saved.
    if (!e.detail.pass || !this.data.nickname) return Promise.resolve(null);
    return funnel.chooseProfile({ nickname: this.data.nickname }).then((saved) => {
      // The server checks the nickname again with WeChat: a refusal asks for another one.
      const refused = saved.error && saved.error.code === 'CONTENT_REJECTED';
      this.setData({ profileHint: saved.ok ? '' : refused ? '昵称未通过检查，请换一个' : '保存失败，请稍后再试' });
      return saved;
    });
  },

  // "Copy link" button: the sharer's URL Link for SMS, e-mail or a web page (cached server-side; attributed on landing).
  copyLink() {
    return funnel.copyShareLink({ productId: this.data.productId, kind: 'urllink', page: PAGE }).then((answer) => {
      const quota = answer.error && answer.error.code === 'QUOTA_EXHAUSTED';
      this.setData({ linkHint: answer.copied ? '链接已复制' : quota ? '今日链接已用完，请明天再试' : '复制失败，请稍后再试' });
    });
  },

  onShareTimeline() {
    return funnel.shareTimeline({ productId: this.data.productId, title: '送你一盒好茶',
      imageUrl: '/images/share-1x1.png' }); // 1:1 for Moments
  },

  onAddToFavorites() {
    return funnel.favorite({ productId: this.data.productId, title: '送你一盒好茶', page: PAGE });
  }
});
