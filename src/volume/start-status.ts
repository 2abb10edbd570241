// What `systemctl status luks-ssm@<volume>` shows while start waits: the device, AWS's last failure, the question.
import type { RetryNotice } from '../aws/retry.ts';
import type { StatusLine } from '../systemd/notify.ts';
import type { Clock } from '../types.ts';

export class StartStatus {
  #aws: string | undefined;
  #asking: string | undefined;
  #waiting: string | undefined;
  readonly #line: StatusLine | undefined;
  readonly #clock: Clock;
  readonly #deadline: number;

  constructor(line: StatusLine | undefined, clock: Clock, deadline: number) {
    this.#line = line;
    this.#clock = clock;
    this.#deadline = deadline;
  }

  device(device: string): void {
    this.#waiting = `waiting for ${device}`;
    this.refresh();
  }

  /** The device is there: from now on the line is about the key. */
  deviceFound(): void {
    this.#waiting = undefined;
    this.#aws = 'fetching the key from AWS';
    this.refresh();
  }

  aws(notice: RetryNotice): void {
    this.#aws = `AWS attempt ${notice.attempt} failed (${notice.reason}), retrying`;
    this.refresh();
  }

  awsDone(why: string): void {
    this.#aws = why;
    this.refresh();
  }

  asking(id: string, attempt: number, tries: number): void {
    this.#asking = `asking for a recovery key or passphrase (${id}${attempt > 1 ? `, try ${attempt} of ${tries}` : ''}; answer with systemd-tty-ask-password-agent)`;
    this.refresh();
  }

  notAsking(): void {
    this.#asking = undefined;
    this.refresh();
  }

  /** Re-renders the time left; called on every change and by a timer. */
  refresh(): void {
    const parts = [this.#waiting, this.#aws, this.#asking].filter((p): p is string => p !== undefined);
    if (parts.length === 0) return;
    const left = Math.max(0, Math.ceil((this.#deadline - this.#clock.now()) / 1000));
    this.#line?.set(`${parts.join('; ')}; gives up in ${left} s`);
  }

  /** Never rejects: start clears the line beside the mount without waiting, and a line is no reason to fail a start. */
  async clear(): Promise<void> {
    await this.#line?.clear().catch(() => undefined);
  }
}
