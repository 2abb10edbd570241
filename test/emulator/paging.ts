// NextToken/MaxResults paging shared by the list-style actions.
import { AwsError, validation } from './errors.ts';

interface TokenBody {
  /** What was being listed, so a token from one listing is refused by another. */
  scope: string;
  offset: number;
}

export function page<T>(items: T[], scope: string, maxResults: number | undefined, limit: number, nextToken: string | undefined): { items: T[]; nextToken: string | undefined } {
  const size = maxResults ?? limit;
  if (size < 1 || size > limit) {
    throw validation(`1 validation error detected: Value '${size}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to ${limit}`);
  }
  const offset = nextToken === undefined ? 0 : readToken(nextToken, scope);
  const end = offset + size;
  return { items: items.slice(offset, end), nextToken: end < items.length ? writeToken({ scope, offset: end }) : undefined };
}

function writeToken(body: TokenBody): string {
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64');
}

function readToken(token: string, scope: string): number {
  try {
    const body = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as Partial<TokenBody>;
    if (body.scope === scope && typeof body.offset === 'number' && body.offset >= 0) return body.offset;
  } catch {
    // fall through to the error below
  }
  throw new AwsError('InvalidNextToken', 'The specified token isn\'t valid.');
}
