// generatePassphrase with the real SDK: KMS's random bytes mixed with the host's, so no KMS answerer picks the key.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createAwsContext } from '../../src/aws/clients.ts';
import { generatePassphrase, isGeneratedForm } from '../../src/lifecycle/passphrase.ts';
import { decodeBase64Bytes } from '../../src/secret/encoding.ts';
import { useEmulator } from '../emulator/use-emulator.ts';
import { realClock } from '../aws/real-clock.ts';

const world = useEmulator();

describe('generatePassphrase', () => {
  it('a KMS that answers 64 bytes it chose (all zero) does not choose the key: each is fresh and in the generated form (review 13)', async () => {
    const zeros = Buffer.alloc(64).toString('base64');
    let asked = 0;
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        asked += 1;
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ Plaintext: zeros }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const deadline = Date.now() + 10_000;
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const aws = await createAwsContext({ endpoints: { kms: url }, env: world.emulator.env(), deadline, clock: realClock });
      const first = await generatePassphrase(aws, { deadline, clock: realClock });
      const second = await generatePassphrase(aws, { deadline, clock: realClock });
      expect(asked).toBe(2);
      for (const key of [first, second]) {
        expect(isGeneratedForm(key)).toBe(true);
        expect(key.bytes().toString('latin1')).not.toBe(zeros);
        expect(decodeBase64Bytes(key.bytes())?.some((byte) => byte !== 0)).toBe(true);
      }
      expect(first.bytes().equals(second.bytes())).toBe(false);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('with the emulator\'s KMS: the documented 88-character form', async () => {
    const deadline = Date.now() + 10_000;
    const aws = await createAwsContext({ endpoints: {}, env: world.emulator.env(), deadline, clock: realClock });
    const key = await generatePassphrase(aws, { deadline, clock: realClock });
    expect(key.bytes().toString('latin1')).toMatch(/^[A-Za-z0-9+/]{86}==$/);
  });
});
