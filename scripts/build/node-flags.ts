// The Node flags /usr/sbin/luks-ssm (packaging/files/luks-ssm) runs the loader with. The bench and the code-cache
// warm-up run it the same way; test/build checks that the launcher still says exactly this.

/**
 * A 16 MiB young generation from the first allocation: a fetch allocates ~9 MiB, so no scavenge runs before
 * the key is in hand (two ran before: fetch median 70 -> 65 ms, peak RSS unchanged at 58 MiB). V8 reads it
 * only at process start, so it cannot be set from the loader; it does not change the code cache's flag hash.
 */
export const NODE_FLAGS: readonly string[] = ['--min-semi-space-size=16'];
