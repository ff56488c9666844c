'use strict';
/**
 * Share Funnel client kit for mini programs (CommonJS, no dependencies, base library >= 2.12.0: the share `promise`).
 *
 *   const { createShareFunnel } = require('../../share-funnel/index');
 *   const funnel = createShareFunnel({ wx });
 *   Page({
 *     onLoad(options) {
 *       funnel.enableGroupSharing();   // group cards carry a shareTicket: landings learn their group
 *       funnel.recordLanding(options, { page: 'pages/product/product' });
 *     },
 *     onShareAppMessage() { return funnel.shareMessage({ productId, title, imageUrl }); },   // 5:4 image
 *     onShareTimeline() { return funnel.shareTimeline({ productId, title, imageUrl }); },    // 1:1 image
 *     async showPoster() { const code = await funnel.posterCode({ productId }); this.setData({ code: code.fileID }); },
 *     sharePoster() { return funnel.sharePoster({ productId }); },                 // campaign poster → share sheet
 *     onChooseAvatar(e) { return funnel.chooseProfile({ avatarUrl: e.detail.avatarUrl }); }
 *   });
 *
 * Every server call goes through an injectable `callFunction` (default: wx.cloud.callFunction), so the kit
 * runs and is tested outside WeChat.
 */
var sceneCodec = require('./scene');

var FUNCTION_NAME = 'recordShare';
var CODE_FUNCTION_NAME = 'genWxacode';
var REWARDS_FUNCTION_NAME = 'rewards';
var CODE_OPTIONS = ['width', 'envVersion', 'isHyaline', 'autoColor', 'lineColor', 'checkPath'];
var SHARE_PROMISE_BUDGET_MS = 2500; // WeChat waits 3 s for onShareAppMessage's promise, then uses the fallback
var SINGLE_PAGE_SCENE = 1154;       // Moments single-page mode: no login, separate storage, no cloud identity
var STORAGE_CODE = 'shareFunnel.inviterCode';
var STORAGE_PENDING = 'shareFunnel.pendingLandings';
var MAX_PENDING = 10;
var IMAGE_RATIO = { chat: 5 / 4, timeline: 1 };
var AVATAR_FOLDER = 'share-funnel/avatars/'; // where chooseProfile uploads avatars in CloudBase storage
var GROUP_INFO_BUDGET_MS = 1500;    // a WeChat open-data API that never answers must not hold the landing back

function defaultCallFunction(wx) {
  return function (options) {
    return wx.cloud.callFunction(options);
  };
}

function resultOf(reply) {
  // wx.cloud.callFunction resolves {result, errMsg, requestID}; tests may resolve the result directly.
  return reply && Object.prototype.hasOwnProperty.call(reply, 'result') ? reply.result : reply;
}

function isRetryable(response) {
  return !!(response && response.ok === false && response.error &&
    (response.error.retryable || response.error.code === 'UNAVAILABLE'));
}

function stripSlash(page) {
  return String(page || '').replace(/^\/+/, '');
}

function createShareFunnel(config) {
  config = config || {};
  var wx = config.wx || (typeof globalThis !== 'undefined' ? globalThis.wx : undefined);
  var callFunction = config.callFunction || defaultCallFunction(wx);
  var functionName = config.functionName || FUNCTION_NAME;
  var codeFunctionName = config.codeFunctionName || CODE_FUNCTION_NAME;
  var defaultPage = stripSlash(config.page || 'pages/product/product');
  var maxAttempts = config.maxAttempts || 3;
  var baseDelayMs = config.baseDelayMs === undefined ? 400 : config.baseDelayMs;
  var shareBudgetMs = config.shareBudgetMs || SHARE_PROMISE_BUDGET_MS;
  var schedule = config.setTimeout || setTimeout;
  var random = config.random || Math.random;
  var log = config.log || function () {};

  function storageGet(key) {
    try { return wx && wx.getStorageSync ? wx.getStorageSync(key) : undefined; } catch (e) { return undefined; }
  }
  function storageSet(key, value) {
    try { if (wx && wx.setStorageSync) wx.setStorageSync(key, value); } catch (e) { /* storage full: best effort */ }
  }
  function storageRemove(key) {
    try { if (wx && wx.removeStorageSync) wx.removeStorageSync(key); } catch (e) { /* best effort */ }
  }

  function call(data, name) {
    return Promise.resolve()
      .then(function () { return callFunction({ name: name || functionName, data: data }); })
      .then(resultOf);
  }

  function sleep(ms) {
    return new Promise(function (resolve) { schedule(resolve, ms); });
  }

  /** Call with bounded retries on retryable errors or a failed transport; resolves, never rejects. */
  function callWithRetry(data, name) {
    var attempt = 0;
    function once() {
      attempt += 1;
      return call(data, name).then(function (response) {
        if (isRetryable(response) && attempt < maxAttempts) return retry();
        return response;
      }, function (err) {
        if (attempt < maxAttempts) return retry();
        return { ok: false, error: { code: 'UNAVAILABLE', retryable: true, message: String(err && err.errMsg || err) } };
      });
    }
    function retry() {
      var delay = baseDelayMs * Math.pow(2, attempt - 1);
      return sleep(delay + Math.floor(random() * delay / 2)).then(once); // backoff with jitter
    }
    return once();
  }

  function knownCode() {
    var code = storageGet(STORAGE_CODE);
    return typeof code === 'string' && /^[0-9A-Za-z]{6,8}$/.test(code) ? code : null;
  }

  function fallbackQuery(productId, channel) {
    // The inviter code never changes, so a code remembered from an earlier share keeps attribution even
    // when the server is slow; without one the link still opens the right product.
    var code = knownCode();
    var query = 'id=' + encodeURIComponent(productId);
    return code ? query + '&i=' + code + '&c=' + channel : query;
  }

  /** Ask the server for the share path/query (records one share intent) and remember the inviter code. */
  function prepareShare(args) {
    var channel = args.channel || 'chat';
    return callWithRetry({ action: 'share', productId: args.productId, channel: channel,
      page: stripSlash(args.page || defaultPage) })
      .then(function (response) {
        if (response && response.ok && response.inviterCode) storageSet(STORAGE_CODE, response.inviterCode);
        return response;
      });
  }

  /**
   * The value for onShareAppMessage. The server call runs in `promise` (base library >= 2.12.0); if it is
   * slow or fails, the promise resolves to the fallback before WeChat's 3-second limit, so sharing never breaks.
   */
  function shareMessage(args) {
    var page = stripSlash(args.page || defaultPage);
    var fallback = { title: args.title, path: '/' + page + '?' + fallbackQuery(args.productId, 'chat') };
    if (args.imageUrl) fallback.imageUrl = args.imageUrl; // 5:4
    var fromServer = prepareShare({ productId: args.productId, channel: 'chat', page: page })
      .then(function (response) {
        if (!response || !response.ok) return fallback;
        var value = { title: args.title, path: response.path };
        if (args.imageUrl) value.imageUrl = args.imageUrl;
        return value;
      }, function () { return fallback; });
    var timeout = new Promise(function (resolve) { schedule(function () { resolve(fallback); }, shareBudgetMs); });
    var result = { title: fallback.title, path: fallback.path, promise: Promise.race([fromServer, timeout]) };
    if (fallback.imageUrl) result.imageUrl = fallback.imageUrl;
    return result;
  }

  /**
   * The value for onShareTimeline (synchronous: WeChat takes no promise here). Uses the remembered inviter
   * code and records the share intent in the background.
   */
  function shareTimeline(args) {
    prepareShare({ productId: args.productId, channel: 'timeline', page: args.page }).catch(function () {});
    var value = { title: args.title, query: fallbackQuery(args.productId, 'timeline') };
    if (args.imageUrl) value.imageUrl = args.imageUrl; // 1:1
    return value;
  }

  /**
   * The value for onAddToFavorites (synchronous, like onShareTimeline): a favourite forwarded from the user's
   * favourites list still carries their inviter code. Records the share intent in the background.
   */
  function favorite(args) {
    prepareShare({ productId: args.productId, channel: 'favorite', page: args.page }).catch(function () {});
    var value = { title: args.title, query: fallbackQuery(args.productId, 'favorite') };
    if (args.imageUrl) value.imageUrl = args.imageUrl;
    return value;
  }

  function enterOptions() {
    try {
      if (wx && wx.getEnterOptionsSync) return wx.getEnterOptionsSync() || {};
      if (wx && wx.getLaunchOptionsSync) return wx.getLaunchOptionsSync() || {};
    } catch (e) { /* not available: treat as unknown */ }
    return {};
  }

  /**
   * Turn share tickets on for the current page (wx.showShareMenu, or wx.updateShareMenu on an already shown
   * menu), with the chat and Moments menus: a card opened from a group then carries a shareTicket, from which
   * recordLanding learns the group. Never throws.
   */
  function enableGroupSharing() {
    var options = { withShareTicket: true, menus: ['shareAppMessage', 'shareTimeline'] };
    try {
      if (wx && typeof wx.showShareMenu === 'function') wx.showShareMenu(options);
      else if (wx && typeof wx.updateShareMenu === 'function') wx.updateShareMenu({ withShareTicket: true });
    } catch (e) { log('enableGroupSharing failed', e); }
  }

  /**
   * The cloudID of the group this launch came from, or null: wx.getGroupEnterInfo (base library >= 2.17.3),
   * else wx.getShareInfo({shareTicket}). Only the cloudID string goes to the server, which asks WeChat itself;
   * any failure, or no answer within the budget, resolves null (the landing is then recorded without a group).
   */
  function groupCloudID(enter) {
    if (!enter || !enter.shareTicket || !wx) return Promise.resolve(null);
    return new Promise(function (resolve) {
      var settled = false;
      function finish(res) {
        if (settled) return;
        settled = true;
        resolve(res && typeof res.cloudID === 'string' && res.cloudID ? res.cloudID : null);
      }
      try {
        var modern = typeof wx.getGroupEnterInfo === 'function' &&
          (typeof wx.canIUse !== 'function' || wx.canIUse('getGroupEnterInfo'));
        if (modern) {
          // allowSingleChat (base library >= 3.7.8; ignored below): a single chat's card answers too, so the server
          // can record chatType 'single' (open_single_roomid) as it does groups.
          wx.getGroupEnterInfo({ allowSingleChat: true, success: finish, fail: function () { finish(null); } });
        } else if (typeof wx.getShareInfo === 'function') {
          wx.getShareInfo({ shareTicket: enter.shareTicket, success: finish, fail: function () { finish(null); } });
        } else {
          finish(null);
        }
      } catch (e) {
        finish(null);
      }
      if (!settled) schedule(function () { finish(null); }, GROUP_INFO_BUDGET_MS);
    });
  }

  function pendingLandings() {
    var pending = storageGet(STORAGE_PENDING);
    return Array.isArray(pending) ? pending : [];
  }

  function land(query, page, launchScene, group) {
    var data = { action: 'land', query: query || {}, page: page };
    if (typeof launchScene === 'number') data.launchScene = launchScene;
    if (group && group.cloudID) data.groupCloudID = group.cloudID; // a plain string, never wx.cloud.CloudID
    if (group && typeof group.chatType === 'number') data.chatType = group.chatType;
    return callWithRetry(data);
  }

  /** Send landings kept from Moments single-page mode (the server deduplicates, so a repeat is harmless). */
  function replayPending() {
    var pending = pendingLandings();
    if (!pending.length) return Promise.resolve([]);
    storageRemove(STORAGE_PENDING);
    return pending.reduce(function (chain, item) {
      return chain.then(function (results) {
        return land(item.query, item.page, item.launchScene).then(function (response) {
          if (isRetryable(response)) keepPending(item); // still down: keep it for the next launch
          return results.concat([response]);
        });
      });
    }, Promise.resolve([]));
  }

  function keepPending(item) {
    var pending = pendingLandings().concat([item]).slice(-MAX_PENDING);
    storageSet(STORAGE_PENDING, pending);
  }

  /**
   * Record how the user arrived: call from Page.onLoad(options) with the options as-is. Returns a promise
   * that always resolves (never throws, never blocks rendering).
   */
  function recordLanding(options, extra) {
    var page = stripSlash((extra && extra.page) || defaultPage);
    var enter = enterOptions();
    var scene = enter.scene;
    var query = options || {};
    if (scene === SINGLE_PAGE_SCENE) {
      // No login state in single-page mode: the call would be refused (NO_IDENTITY). Keep the parameters
      // for the next full launch instead of calling.
      var entry = sceneCodec.parseEntry(query);
      if (entry.kind === 'claim' || entry.kind === 'token') {
        keepPending({ query: query, page: page, launchScene: scene, at: Date.now() });
      }
      return Promise.resolve({ ok: true, skipped: 'single_page_mode', entry: entry });
    }
    return replayPending().then(function () {
      return groupCloudID(enter);
    }).then(function (cloudID) {
      return land(query, page, scene, { cloudID: cloudID, chatType: enter.chatType });
    }).catch(function (err) {
      log('recordLanding failed', err);
      return { ok: false, error: { code: 'CLIENT', message: String(err) } };
    });
  }

  /**
   * The sharer's own Mini Program Code for a product (genWxacode), for a poster: resolves
   * {ok: true, fileID, scene, page, contentType, cached} — `fileID` (cloud://…) goes straight into an <image> —
   * or {ok: false, error}. Retries RATE_LIMITED/UNAVAILABLE with backoff; never rejects. The server records
   * the share intent, so no separate prepareShare call is needed for posters.
   */
  function posterCode(args) {
    var data = { productId: args.productId, page: stripSlash(args.page || defaultPage), channel: args.channel || 'poster' };
    CODE_OPTIONS.forEach(function (key) {
      if (args[key] !== undefined) data[key] = args[key];
    });
    return callWithRetry(data, codeFunctionName);
  }

  /**
   * The sharer's own link to a product for outside a chat card (genWxacode `link`): `kind` 'urllink' (SMS, e-mail,
   * web pages), 'scheme' (other apps) or 'shortlink' (pasted inside WeChat; e-commerce categories only). Resolves
   * {ok: true, kind, link, path, expiresAt, cached} or {ok: false, error} (QUOTA_EXHAUSTED when today's links are
   * made); never rejects. Someone opening it lands like any share: recordLanding sees the link's query.
   */
  function shareLink(args) {
    var data = { action: 'link', kind: args.kind || 'urllink', productId: args.productId,
      channel: args.channel || 'chat', page: stripSlash(args.page || defaultPage) };
    if (args.title) data.title = args.title;
    return callWithRetry(data, codeFunctionName);
  }

  /** shareLink, then the link on the clipboard (a "copy link" button). Resolves shareLink's answer plus `copied`. */
  function copyShareLink(args) {
    return shareLink(args).then(function (response) {
      if (!response || !response.ok || !wx || typeof wx.setClipboardData !== 'function') {
        return Object.assign({}, response, { copied: false });
      }
      return new Promise(function (resolve) {
        wx.setClipboardData({
          data: response.link,
          success: function () { resolve(Object.assign({}, response, { copied: true })); },
          fail: function () { resolve(Object.assign({}, response, { copied: false })); }
        });
      });
    });
  }

  /**
   * The sharer's campaign poster for a product (genWxacode `poster`): their own code composed into the operator's
   * template with their avatar and nickname. Resolves {ok: true, fileID, scene, path, width, height, cached} —
   * `fileID` goes straight into an <image> — or {ok: false, error}; never rejects. The server records the share intent.
   */
  function posterImage(args) {
    var data = { action: 'poster', productId: args.productId, channel: args.channel || 'poster',
      page: stripSlash(args.page || defaultPage) };
    if (args.template) data.template = args.template;
    return callWithRetry(data, codeFunctionName);
  }

  function wxCall(name, options) {
    // A wx API as a promise that resolves {ok, res} or {ok: false, error}: the kit never rejects.
    return new Promise(function (resolve) {
      var api = name.split('.').reduce(function (owner, key) { return owner && owner[key]; }, wx);
      if (typeof api !== 'function') {
        resolve({ ok: false, error: { code: 'CLIENT', message: 'wx.' + name + ' is not available' } });
        return;
      }
      var owner = name.indexOf('cloud.') === 0 ? wx.cloud : wx;
      api.call(owner, Object.assign({}, options, {
        success: function (res) { resolve({ ok: true, res: res }); },
        fail: function (err) { resolve({ ok: false, error: { code: 'CLIENT', message: String(err && err.errMsg || err) } }); }
      }));
    });
  }

  /**
   * posterImage, then WeChat's share sheet for it (wx.showShareImageMenu, base library 2.14.3+: send to a friend,
   * save, favourite; from 3.2.0 a friend's copy opens the mini program at the sharer's own path), or a full-screen
   * preview (long-press to save) where the sheet is missing. Call from a tap. Resolves posterImage's answer plus
   * `shown`: 'shareImageMenu' | 'preview' | false.
   */
  function sharePoster(args) {
    return posterImage(args).then(function (poster) {
      if (!poster || !poster.ok) return Object.assign({}, poster, { shown: false });
      if (wx && typeof wx.showShareImageMenu === 'function') {
        return wxCall('cloud.downloadFile', { fileID: poster.fileID }).then(function (downloaded) {
          if (!downloaded.ok) return Object.assign({}, poster, { shown: false, error: downloaded.error });
          var menu = { path: downloaded.res.tempFilePath };
          if (poster.path) { menu.needShowEntrance = true; menu.entrancePath = stripSlash(poster.path); }
          return wxCall('showShareImageMenu', menu).then(function (shown) {
            return Object.assign({}, poster, { shown: shown.ok ? 'shareImageMenu' : false });
          });
        });
      }
      return wxCall('previewImage', { urls: [poster.fileID], current: poster.fileID }).then(function (shown) {
        return Object.assign({}, poster, { shown: shown.ok ? 'preview' : false });
      });
    });
  }

  /**
   * Save what the user chose for their poster: `avatarUrl` from <button open-type="chooseAvatar"
   * bindchooseavatar> (e.detail.avatarUrl, a temporary file: uploaded to CloudBase storage first) and/or `nickname`
   * from <input type="nickname"> (after WeChat's review: bindnicknamereview's e.detail.pass). Resolves
   * {ok: true, nickname, avatarFileID} or {ok: false, error}; never rejects. Nothing is read from anywhere else.
   */
  function chooseProfile(args) {
    var upload = Promise.resolve({ ok: true });
    if (args.avatarUrl) {
      var extension = (/\.(jpe?g|png|webp)$/i.exec(args.avatarUrl) || ['.jpg'])[0].toLowerCase();
      var name = Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
      upload = wxCall('cloud.uploadFile', { cloudPath: AVATAR_FOLDER + name + extension, filePath: args.avatarUrl });
    }
    return upload.then(function (uploaded) {
      if (!uploaded.ok) return uploaded;
      var data = { action: 'profile' };
      if (uploaded.res) data.avatarFileID = uploaded.res.fileID;
      if (args.nickname !== undefined && args.nickname !== null) data.nickname = String(args.nickname);
      return callWithRetry(data);
    });
  }

  /**
   * The caller's own rewards: {ok, inviterCode, amounts: {pending, approved, paid, reversed, rejected, clawback},
   * counts, convertedInvitees, liability, toPay, rewards: [...]}. Identity comes from the platform only.
   */
  function myRewards() {
    return callWithRetry({ action: 'myRewards' }, config.rewardsFunctionName || REWARDS_FUNCTION_NAME);
  }

  /**
   * The promoter's centre: {ok, earnedFen, pendingFen, availableFen, payingFen, paidFen, yesterdayFen, members,
   * rank: {byMembers, byEarned}} — whole fen, ranks over the last 30 days (1 = first).
   */
  function promoterCentre() {
    return callWithRetry({ action: 'myCentre' }, config.rewardsFunctionName || REWARDS_FUNCTION_NAME);
  }

  /** The promoter's credited orders, newest first: {ok, orders: [{placedAt, productId, amountFen, state, rewardFen}], cursor}. */
  function myOrders(options) {
    var cursor = options && options.cursor;
    var data = cursor ? { action: 'myOrders', cursor: cursor } : { action: 'myOrders' };
    return callWithRetry(data, config.rewardsFunctionName || REWARDS_FUNCTION_NAME);
  }

  /**
   * The promoter's team: {ok, total, members: [{code, nickname?, avatarFileID?, boundAt, expiresAt, protectedUntil,
   * status: 'active' | 'expired' | 'taken', orders, amountFen}], cursor} — pass `cursor` back for the next page
   * (null: the last). Identity comes from the platform only; no member's openid is ever in it.
   */
  function myTeam(options) {
    var cursor = options && options.cursor;
    return callWithRetry(cursor ? { action: 'myTeam', cursor: cursor } : { action: 'myTeam' });
  }

  function rewardsCall(data) {
    return callWithRetry(data, config.rewardsFunctionName || REWARDS_FUNCTION_NAME);
  }

  /** A payout as the server knows it now (it asks WeChat Pay first): {ok, payoutId, state, amountFen, …}. */
  function payout(payoutId) {
    return rewardsCall({ action: 'payout', payoutId: payoutId });
  }

  /** The caller's payouts, newest first: {ok, payouts: [...], cursor}. */
  function payouts(options) {
    var cursor = options && options.cursor;
    return rewardsCall(cursor ? { action: 'payouts', cursor: cursor } : { action: 'payouts' });
  }

  /**
   * Withdraw what is available into WeChat 零钱 (call from a tap: WeChat opens its confirmation page then). The
   * server makes one payout per inviter at a time, so a retried or repeated tap answers the same payout. When WeChat
   * Pay waits for the user, wx.requestMerchantTransfer (base library >= 3.3.0) opens with the payout's package; the
   * page closing is not the money arriving, so the payout is read back from the server afterwards. Resolves the
   * payout with `confirmation`: 'shown' | 'cancel' | 'fail' | 'unsupported' (update WeChat) when a page was
   * involved; never rejects.
   */
  function withdraw(options) {
    var amountFen = options && options.amountFen;
    return rewardsCall(amountFen ? { action: 'withdraw', amountFen: amountFen } : { action: 'withdraw' })
      .then(function (answer) {
        if (!answer || !answer.ok || answer.state !== 'waiting' || !answer.package) return answer;
        var supported = wx && typeof wx.requestMerchantTransfer === 'function' &&
          (typeof wx.canIUse !== 'function' || wx.canIUse('requestMerchantTransfer'));
        if (!supported) return Object.assign({}, answer, { confirmation: 'unsupported' });
        return new Promise(function (resolve) {
          wx.requestMerchantTransfer({
            mchId: answer.mchId,
            appId: answer.appId,
            package: answer.package,
            // HarmonyOS reports a cancel through success: res.result says which
            success: function (res) { resolve(res && res.result === 'cancel' ? 'cancel' : 'shown'); },
            fail: function () { resolve('fail'); }
          });
        }).then(function (confirmation) {
          return payout(answer.payoutId).then(function (latest) {
            return Object.assign({}, latest && latest.ok ? latest : answer, { confirmation: confirmation });
          });
        });
      });
  }

  /**
   * Ask for reward notices (call from a tap: WeChat requires it). wx.requestSubscribeMessage's answer is passed to the
   * server, which counts one send per accept. Resolves {ok, counted} or {ok: false, error}; never rejects.
   */
  function subscribeRewardNotices(templateIds) {
    return new Promise(function (resolve) {
      if (!wx || typeof wx.requestSubscribeMessage !== 'function') {
        resolve({ ok: false, error: { code: 'CLIENT', message: 'wx.requestSubscribeMessage is not available' } });
        return;
      }
      wx.requestSubscribeMessage({
        tmplIds: templateIds,
        success: function (res) {
          var templates = {};
          templateIds.forEach(function (id) { if (typeof res[id] === 'string') templates[id] = res[id]; });
          callWithRetry({ action: 'subscribe', templates: templates }, config.rewardsFunctionName || REWARDS_FUNCTION_NAME)
            .then(resolve);
        },
        fail: function (err) {
          resolve({ ok: false, error: { code: 'CLIENT', message: String(err && err.errMsg || err) } });
        }
      });
    });
  }

  return {
    myRewards: myRewards,
    myTeam: myTeam,
    promoterCentre: promoterCentre,
    myOrders: myOrders,
    withdraw: withdraw,
    payout: payout,
    payouts: payouts,
    subscribeRewardNotices: subscribeRewardNotices,
    posterCode: posterCode,
    posterImage: posterImage,
    sharePoster: sharePoster,
    chooseProfile: chooseProfile,
    shareLink: shareLink,
    copyShareLink: copyShareLink,
    enableGroupSharing: enableGroupSharing,
    prepareShare: prepareShare,
    shareMessage: shareMessage,
    shareTimeline: shareTimeline,
    favorite: favorite,
    recordLanding: recordLanding,
    replayPending: replayPending,
    knownInviterCode: knownCode,
    decodeScene: sceneCodec.decodeScene,
    parseEntry: sceneCodec.parseEntry
  };
}

module.exports = {
  createShareFunnel: createShareFunnel,
  decodeScene: sceneCodec.decodeScene,
  parseEntry: sceneCodec.parseEntry,
  encodeScene: sceneCodec.encodeScene,
  IMAGE_RATIO: IMAGE_RATIO,
  SHARE_PROMISE_BUDGET_MS: SHARE_PROMISE_BUDGET_MS
};
