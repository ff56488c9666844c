'use strict';
// A fake `wx` for tests: storage, enter options and a scripted cloud function, recording every call.
function createFakeWx(opts) {
  opts = opts || {};
  const storage = new Map(Object.entries(opts.storage || {}));
  const calls = [];
  const script = (opts.responses || []).slice();
  const wx = {
    calls,
    storage,
    scene: opts.scene === undefined ? 1007 : opts.scene,
    getStorageSync: (key) => (storage.has(key) ? JSON.parse(JSON.stringify(storage.get(key))) : ''),
    setStorageSync: (key, value) => { storage.set(key, JSON.parse(JSON.stringify(value))); },
    removeStorageSync: (key) => { storage.delete(key); },
    getEnterOptionsSync: () => ({ scene: wx.scene, query: {} }),
    cloud: {
      callFunction: (options) => {
        calls.push(JSON.parse(JSON.stringify(options)));
        const next = script.length ? script.shift() : opts.default;
        if (typeof next === 'function') return next(options);
        if (next instanceof Error) return Promise.reject(next);
        return Promise.resolve({ result: next, errMsg: 'cloud.callFunction:ok', requestID: 'req-' + calls.length });
      }
    }
  };
  return wx;
}

const immediate = (fn) => { fn(); return 0; };

module.exports = { createFakeWx, immediate };
