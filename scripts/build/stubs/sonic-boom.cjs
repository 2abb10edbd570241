// Build stub for pino.destination(): src/log.ts hands pino its own synchronous stream, so SonicBoom never runs.
'use strict';
module.exports = class SonicBoom {
  constructor() {
    throw new Error('pino.destination is not bundled in luks-ssm (src/log.ts writes synchronously to stdout)');
  }
};
