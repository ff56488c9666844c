'use strict';
// The project's own `tencent` provider for Serverless Framework v3: `serverless deploy function -f X` (and
// `serverless deploy`, every function in turn) ship build/X.zip through SCF's cloud API only, by running the
// deployer in shared/ops/scf_deploy.py (tencentcloud-sdk-python signs every request). It replaces the 2020
// serverless-tencent-scf plugin, whose deploy first sends the account's UIN to a third-party 2019 endpoint for a
// "real-name check" and exits when that fails. This plugin makes no request of its own: no telemetry, no login.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const PROVIDER = 'tencent';

class TencentScfApi {
  static getProviderName() {
    return PROVIDER;
  }

  constructor(serverless, options) {
    this.serverless = serverless;
    this.options = options || {};
    this.provider = this;
    serverless.setProvider(PROVIDER, this);
    const region = { usage: 'Tencent Cloud region (default: provider.region)', type: 'string' };
    this.commands = { deploy: { options: { region }, commands: { function: { options: { region } } } } };
    this.hooks = {
      'deploy:function:deploy': () => this.deploy([this.options.function]),
      'deploy:deploy': () => this.deploy(this.serverless.service.getAllFunctions()),
    };
  }

  python() {
    if (process.env.SHARE_FUNNEL_PYTHON) return process.env.SHARE_FUNNEL_PYTHON;
    const venv = path.join(this.serverless.serviceDir, '.venv', 'bin', 'python');
    return fs.existsSync(venv) ? venv : 'python3';
  }

  deploy(names) {
    const service = this.serverless.service;
    const stage = this.options.stage || service.provider.stage || 'dev';
    const region = this.options.region || service.provider.region || 'ap-shanghai';
    for (const name of names) {
      const fn = service.getFunction(name);
      const artifact = (fn.package && fn.package.artifact) || `build/${name}.zip`;
      const args = ['-m', 'shared.ops.scf_deploy', '--function', name, '--stage', stage, '--region', region,
        '--artifact', path.resolve(this.serverless.serviceDir, artifact)];
      if (this.options.force) args.push('--force');
      // The Framework refuses options it does not know: pruning is asked for through the environment (make deploy PRUNE=1).
      if (process.env.DEPLOY_PRUNE === '1') args.push('--prune');
      const run = spawnSync(this.python(), args, { cwd: this.serverless.serviceDir, stdio: 'inherit', env: process.env });
      if (run.error) {
        throw new this.serverless.classes.Error(`${name}: could not run the deployer (${run.error.message}); run \`make build\` first`);
      }
      if (run.status !== 0) {
        throw new this.serverless.classes.Error(`Deploy of ${name} failed (see the message above)`);
      }
    }
  }
}

module.exports = TencentScfApi;
