// Instance-profile credentials AWS calls expired mid-run are fetched again, and the call retried, before the deadline.
import type { CredentialProvider } from './credential-chain.ts';
import { errorNameOf } from './transient.ts';

const EXPIRED_NAMES = new Set(['ExpiredToken', 'ExpiredTokenException', 'RequestExpired']);

/** An SDK client's middleware stack, typed loosely: the SSM and KMS clients' overloads differ only in their command types. */
interface WithMiddleware {
  middlewareStack: { add(middleware: never, options: never): void };
}

type Middleware = (next: (args: unknown) => Promise<unknown>) => (args: unknown) => Promise<unknown>;

export interface RenewableCredentials {
  /** What the SDK clients are given. */
  credentials: CredentialProvider;
  /** Adds the middleware that marks an "expired" answer as worth a retry (when renewal can help) and renews. */
  watch<T extends WithMiddleware>(client: T): T;
}

/**
 * Only credentials that carry an expiration (the instance profile's, or a session in the environment with
 * AWS_CREDENTIAL_EXPIRATION) can be renewed; for static keys "expired" stays a final answer.
 */
export function renewableCredentials(provider: CredentialProvider): RenewableCredentials {
  let stale = false;
  let renewable = false;
  // Once per run: fresh credentials that AWS also calls expired are a final answer (a clock or role problem).
  let renewed = false;
  const credentials: CredentialProvider = async () => {
    const current = await provider(stale ? { forceRefresh: true } : undefined);
    stale = false;
    renewable = current.expiration !== undefined;
    // The SDK keeps an identity until five minutes before its expiration; "expires now" makes it ask us for
    // every request, so a renewal reaches the next one (our provider keeps its own cache until the real expiry).
    return renewable ? { ...current, expiration: new Date(0) } : current;
  };
  return {
    credentials,
    watch(client) {
      const middleware: Middleware = (next) => async (args) => {
        try {
          return await next(args);
        } catch (err) {
          if (renewable && !renewed && EXPIRED_NAMES.has(errorNameOf(err)) && err !== null && typeof err === 'object') {
            stale = true;
            renewed = true;
            Object.assign(err, { credentialsRenewed: true });
          }
          throw err;
        }
      };
      client.middlewareStack.add(middleware as never, { step: 'initialize', name: 'luksSsmRenewExpiredCredentials' } as never);
      return client;
    },
  };
}
