'use strict';
// End to end: the kit's calls go to the real recordShare handler (Python, embedded engine) through a
// JSON-lines bridge standing in for wx.cloud.callFunction. `make test` sets SHARE_FUNNEL_PYTHON.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn } = require('node:child_process');
const readline = require('node:readline');
const { createShareFunnel } = require('../share-funnel/index');
const { createFakeWx } = require('./fake-wx');

const python = process.env.SHARE_FUNNEL_PYTHON;

function startBridge() {
  const child = spawn(python, [path.join(__dirname, '..', '..', 'tools', 'callfunction_bridge.py')],
    { env: Object.assign({}, process.env, { MONGODB_URI: '' }), stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout });
  const waiting = [];
  lines.on('line', (line) => waiting.shift()(JSON.parse(line)));
  return {
    callFunctionAs(openid) {
      return (options) => new Promise((resolve) => {
        waiting.push((result) => resolve({ result, errMsg: 'cloud.callFunction:ok' }));
        child.stdin.write(JSON.stringify({ name: options.name, openid, data: options.data }) + '\n');
      });
    },
    stop() { child.stdin.end(); }
  };
}

test('the kit and the real handler agree end to end', { skip: !python && 'SHARE_FUNNEL_PYTHON not set (make test sets it)' }, async () => {
  const bridge = startBridge();
  try {
    const alice = createShareFunnel({ wx: createFakeWx(), callFunction: bridge.callFunctionAs('oAlice_xxxxxxxxxxxxxxxxxxxxxx') });
    const shared = await alice.shareMessage({ productId: 'sku-42', title: 'Tea' }).promise;
    const code = alice.knownInviterCode();
    assert.match(code, /^[0-9A-Za-z]{6,8}$/);
    assert.equal(shared.path, `/pages/product/product?id=sku-42&i=${code}&c=chat`);

    // Bob opens Alice's card: the options WeChat gives onLoad are the path's query.
    const options = Object.fromEntries(new URLSearchParams(shared.path.split('?')[1]));
    const bobWx = createFakeWx({ scene: 1007 });
    const bob = createShareFunnel({ wx: bobWx, callFunction: bridge.callFunctionAs('oBob_xxxxxxxxxxxxxxxxxxxxxxxx') });
    const landed = await bob.recordLanding(options);
    assert.deepEqual(landed, { ok: true, recorded: true, duplicate: false, newUser: true, attributedTo: code, channel: 'chat',
      entry: 'chat', productId: 'sku-42', group: null, relationship: 'bound' });
    const again = await bob.recordLanding(options);
    assert.equal(again.duplicate, true);

    // Carol sees it in Moments (1154: kept), then opens the app (1155: replayed + recorded once).
    const carolWx = createFakeWx({ scene: 1154 });
    const carol = createShareFunnel({ wx: carolWx, callFunction: bridge.callFunctionAs('oCarol_xxxxxxxxxxxxxxxxxxxxxx') });
    const timelineQuery = alice.shareTimeline({ productId: 'sku-42', title: 'Tea' }).query;
    const carolOptions = Object.fromEntries(new URLSearchParams(timelineQuery));
    assert.equal((await carol.recordLanding(carolOptions)).skipped, 'single_page_mode');
    carolWx.scene = 1155;
    const carolLanded = await carol.recordLanding(carolOptions);
    assert.equal(carolLanded.duplicate, true); // the replayed 1154 landing recorded it first
    assert.equal(carolLanded.attributedTo, code);

    // A scanned poster code.
    const dave = createShareFunnel({ wx: createFakeWx({ scene: 1047 }), callFunction: bridge.callFunctionAs('oDave_xxxxxxxxxxxxxxxxxxxxxxx') });
    const scanned = await dave.recordLanding({ scene: encodeURIComponent(`1p${code}.sku-42`) });
    assert.equal(scanned.recorded, true);
    assert.equal(scanned.entry, 'scan');
  } finally {
    bridge.stop();
  }
});
