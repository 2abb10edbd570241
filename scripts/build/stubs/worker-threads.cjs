// Build stub for pino's one use of worker_threads (isMainThread): the luks-ssm CLI runs no worker threads.
'use strict';
module.exports = { isMainThread: true };
