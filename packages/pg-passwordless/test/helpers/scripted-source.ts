import { SecretToken } from '../../src/core/secret.ts';
import type { FetchedToken, TokenSource } from '../../src/core/token-source.ts';
import type { ManualClock } from './manual-clock.ts';

type Step = { token: string; lifetimeMs: number } | { error: unknown } | 'hold';

/**
 * A token source that answers from a script. 'hold' leaves the fetch pending until `release()`.
 * Steps are used in order; the last one repeats.
 */
export class ScriptedSource implements TokenSource {
  calls = 0;
  readonly #steps: Step[];
  readonly #clock: ManualClock;
  #held: Array<() => void> = [];
  #repeating = false;

  constructor(clock: ManualClock, steps: Step[]) {
    this.#clock = clock;
    this.#steps = steps;
  }

  describe(): string {
    return 'scripted test source';
  }

  /** Adds steps; a last step that was repeating is replaced by them. */
  push(...steps: Step[]): void {
    if (this.#repeating) this.#steps.length = 0;
    this.#repeating = false;
    this.#steps.push(...steps);
  }

  /** Lets held fetches continue with the next step. */
  release(): void {
    const held = this.#held;
    this.#held = [];
    for (const resume of held) resume();
  }

  async fetchToken(): Promise<FetchedToken> {
    this.calls++;
    let step = this.#next();
    if (step === 'hold') {
      await new Promise<void>((resolve) => this.#held.push(resolve));
      step = this.#next();
    }
    if (step === 'hold') throw new Error('two holds in a row');
    if ('error' in step) throw step.error;
    return { token: new SecretToken(step.token), expiresAtMs: this.#clock.now() + step.lifetimeMs };
  }

  /** Steps are used in order; the last one repeats. */
  #next(): Step {
    this.#repeating = this.#steps.length === 1;
    const step = this.#steps.length > 1 ? this.#steps.shift() : this.#steps[0];
    if (step === undefined) throw new Error('empty script');
    return step;
  }
}
