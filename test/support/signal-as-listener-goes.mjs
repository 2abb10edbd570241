// Preloaded into a CLI run (node --import) by a test: the worst moment for a signal to land. Just before the
// process removes a listener of an ending signal, it is sent SIGTERM (once) and the signal's name is written to
// $LUKS_SSM_TEST_SIGNAL_LOG. Node drops a signal still waiting for dispatch when its last listener goes, so a
// run whose listeners come and go (execa's clean-up did, around every program) then carries on as if never told.
import { appendFileSync } from 'node:fs';

const log = process.env.LUKS_SSM_TEST_SIGNAL_LOG;
const ending = new Set(['SIGTERM', 'SIGINT', 'SIGHUP']);
const remove = process.removeListener;
let sent = false;
process.removeListener = process.off = function removeListener(event, listener) {
  if (!sent && ending.has(event)) {
    sent = true;
    if (log) appendFileSync(log, `${event}\n`);
    process.kill(process.pid, 'SIGTERM');
  }
  return remove.call(this, event, listener);
};
