import type { IncomingMessage } from 'node:http';
import type { Faults } from './faults.ts';
import { type Route, readRequestBody } from './identity-server.ts';

export const FAULTS_PATH = '/emulator/faults';
export const COUNTERS_PATH = '/emulator/counters';

/**
 * Lets another process (a benchmark, the demo, a shell) change faults and read counters of a running
 * emulator. Guarded by the header `X-Emulator-Secret: $PG_PASSWORDLESS_EMULATOR_SECRET`. Its routes
 * are `control` routes: calling them leaves the identity request counter and log as they were.
 *
 * @example
 * // Reads the counters of the running emulator named by the environment (POST FAULTS_PATH sets faults).
 * const response = await fetch(new URL(COUNTERS_PATH, process.env.IDENTITY_ENDPOINT), {
 *   headers: { 'X-Emulator-Secret': process.env.PG_PASSWORDLESS_EMULATOR_SECRET ?? '' },
 * });
 * console.log(response.status, Object.keys((await response.json()) as object));
 * // 200 [ 'identityRequests', 'tokensIssued', 'faultsInjected', 'gateway' ]
 * console.log((await fetch(new URL(COUNTERS_PATH, process.env.IDENTITY_ENDPOINT))).status); // 401: no secret
 */
export function controlRoutes(control: {
  secret: string;
  setFaults(faults: Faults): void;
  counters(): unknown;
}): Route[] {
  const authorized = (request: IncomingMessage) => request.headers['x-emulator-secret'] === control.secret;
  const denied = {
    status: 401,
    body: { error: 'unauthorized', error_description: 'X-Emulator-Secret is missing or wrong.' },
  };
  return [
    {
      method: 'POST',
      faulty: false,
      control: true,
      matches: (path) => path === FAULTS_PATH,
      handle: async (request) => {
        if (!authorized(request)) return denied;
        let faults: Faults;
        try {
          faults = JSON.parse(await readRequestBody(request)) as Faults;
        } catch {
          return {
            status: 400,
            body: {
              error: 'invalid_request',
              error_description: 'The body must be JSON faults, e.g. {"status":429}.',
            },
          };
        }
        control.setFaults(faults);
        return { status: 200, body: { faults } };
      },
    },
    {
      method: 'GET',
      faulty: false,
      control: true,
      matches: (path) => path === COUNTERS_PATH,
      handle: (request) => (authorized(request) ? { status: 200, body: control.counters() } : denied),
    },
  ];
}
