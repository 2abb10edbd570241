// A peer-to-peer D-Bus server like systemd's /run/systemd/private: no bus daemon, and the bus Hello is refused.
import { createRequire } from 'node:module';
import { createServer, type Server, type Socket } from 'node:net';
import { Message, Variant } from '@particle/dbus-next';

// dbus-next's own (unexported) wire code, so the fake speaks exactly what the client parses.
const require = createRequire(import.meta.url);
const { unmarshalMessages } = require('@particle/dbus-next/lib/message.js') as { unmarshalMessages(stream: Socket, cb: (m: object) => void, opts: object): void };
const { marshallMessage, messageToJsFmt } = require('@particle/dbus-next/lib/marshall-compat.js') as {
  marshallMessage(msg: Message): Buffer[] | [Buffer, unknown];
  messageToJsFmt(msg: object): object;
};

export interface PrivateSocketFake {
  /** Members called, in order ('Hello' first: the client always sends it). */
  members: string[];
  close(): Promise<void>;
}

const UNIT_PATH = '/org/freedesktop/systemd1/unit/app_2eservice';

/** Serves `path`: answers LoadUnit, GetUnitByPID and Properties.Get/GetAll for one active unit, app.service. */
export async function startPrivateSocketFake(path: string): Promise<PrivateSocketFake> {
  const members: string[] = [];
  const sockets = new Set<Socket>();
  let serial = 1;
  const reply = (socket: Socket, msg: Message): void => {
    const answer = answerFor(msg);
    answer.serial = serial++;
    socket.write(marshallMessage(answer)[0] as Buffer);
  };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      if (/AUTH [^\r]*\r\n$/.test(text)) {
        socket.write('OK 0123456789abcdef0123456789abcdef\r\n');
      }
      const begin = text.indexOf('BEGIN\r\n');
      if (begin < 0) return;
      socket.off('data', onData);
      socket.pause();
      const rest = Buffer.from(text.slice(begin + 'BEGIN\r\n'.length), 'latin1');
      if (rest.length > 0) socket.unshift(rest);
      unmarshalMessages(socket, (raw) => {
        const msg = new Message(messageToJsFmt(raw) as ConstructorParameters<typeof Message>[0]);
        members.push(msg.member);
        reply(socket, msg);
      }, {});
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    members,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Message.newError takes the call it answers; its typings say string. */
function errorReply(msg: Message, name: string, text: string): Message {
  return Message.newError(msg as unknown as string, name, text);
}

function answerFor(msg: Message): Message {
  switch (msg.member) {
    case 'Hello':
      return errorReply(msg, 'org.freedesktop.DBus.Error.UnknownObject', "Unknown object '/org/freedesktop/DBus'.");
    case 'Ping':
      return Message.newMethodReturn(msg, '', []);
    case 'LoadUnit':
    case 'GetUnitByPID':
      return Message.newMethodReturn(msg, 'o', [UNIT_PATH]);
    case 'Get':
      return Message.newMethodReturn(msg, 'v', [new Variant('s', 'app.service')]);
    case 'GetAll':
      return Message.newMethodReturn(msg, 'a{sv}', [{
        Id: new Variant('s', 'app.service'), LoadState: new Variant('s', 'loaded'), ActiveState: new Variant('s', 'active'),
        SubState: new Variant('s', 'running'), ActiveEnterTimestamp: new Variant('t', 0n),
      }]);
    default:
      return errorReply(msg, 'org.freedesktop.DBus.Error.UnknownMethod', `Unknown method ${msg.member}`);
  }
}
