import { inspect } from 'node:util';

const REDACTED = '[redacted token]';

/**
 * Holds a bearer token so that it cannot leak by accident: `toString`, `JSON.stringify` and
 * `util.inspect` all print `[redacted token]`, and the value itself is a non-enumerable field.
 * Only `reveal()` returns it, at the one place that hands it to the driver.
 *
 * @example
 * const secret = new SecretToken('eyJ0eXAiOiJKV1QifQ.e30.c2ln');
 * console.log(`${secret}`, JSON.stringify({ secret })); // [redacted token] {"secret":"[redacted token]"}
 * const password = secret.reveal(); // only where the token leaves for the database
 * console.log(password.length); // 27
 */
export class SecretToken {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The raw token. Call it only where the token leaves for the database. */
  reveal(): string {
    return this.#value;
  }

  /** Compares two secrets without exposing either. */
  equals(other: SecretToken | undefined): boolean {
    return other !== undefined && other.#value === this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
