// Harness failures (a timeout, the guest gone): unlike an assertion, they leave the guest in an unknown state.
export class HarnessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HarnessError';
  }
}
