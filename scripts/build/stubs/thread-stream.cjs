// Build stub for pino's transports (worker threads): luks-ssm logs through its own synchronous stream (src/log.ts).
'use strict';
module.exports = class ThreadStream {
  constructor() {
    throw new Error('pino transports are not bundled in luks-ssm (src/log.ts writes synchronously to stdout)');
  }
};
