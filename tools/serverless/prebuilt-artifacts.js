'use strict';
// Local Serverless Framework plugin: ship the zips made by `make build` (entry module at the zip root,
// vendored packages) as the functions' packages. serverless-tencent-scf's `deploy function -f X` uploads
// .serverless/X.zip from a fixed path, so each prebuilt artifact is copied there after packaging.
const fs = require('fs');
const path = require('path');

class PrebuiltArtifacts {
  constructor(serverless, options) {
    this.serverless = serverless;
    this.options = options || {};
    this.hooks = {
      'after:package:createDeploymentArtifacts': () => this.copyAll(),
      'after:package:function:package': () => this.copy(this.options.function),
    };
  }

  copy(name) {
    const functionObject = this.serverless.service.getFunction(name);
    const artifact = functionObject.package && functionObject.package.artifact;
    if (!artifact) {
      throw new this.serverless.classes.Error(`${name}: no package.artifact; run \`make build\` first`);
    }
    const source = path.resolve(this.serverless.serviceDir, artifact);
    if (!fs.existsSync(source)) {
      throw new this.serverless.classes.Error(`${name}: ${artifact} is missing; run \`make build\` first`);
    }
    const target = path.join(this.serverless.serviceDir, '.serverless', `${name}.zip`);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(source, target);
    this.serverless.cli.log(`${name}: .serverless/${name}.zip <- ${path.relative(this.serverless.serviceDir, source)}`);
  }

  copyAll() {
    for (const name of this.serverless.service.getAllFunctions()) this.copy(name);
  }
}

module.exports = PrebuiltArtifacts;
