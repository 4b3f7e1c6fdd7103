import type { SecureContext } from 'node:tls';
import type { Backend } from './backend.ts';
import { EmulatorError } from './emulator-error.ts';
import { startGateway } from './gateway.ts';
import type { LoginValidator } from './login-validator.ts';
import { startPgbouncer } from './pgbouncer.ts';

/** The second gateway port, whose sessions go through PgBouncer. */
export interface PgbouncerGateway {
  port: number;
  /** Lets a role created later log in through PgBouncer too. */
  addUser(role: string): void;
  stop(): Promise<void>;
}

/**
 * A second gateway, same checks, whose sessions go through PgBouncer (transaction pooling) to the
 * backend, as Azure's built-in PgBouncer on port 6432 sits beside the server.
 *
 * @example
 * import { startEmulator } from 'pg-passwordless-emulator';
 *
 * // startEmulator({ pgbouncer: true }) adds this port; PGlite cannot serve it (one shared session).
 * const refused = await startEmulator({ backend: 'pglite', pgbouncer: true }).catch((error) => error);
 * console.log(refused.code); // EMULATOR_FAILED
 */
export async function startPgbouncerGateway(
  backend: Backend,
  validator: LoginValidator,
  secureContext: SecureContext,
  host: string,
): Promise<PgbouncerGateway> {
  if (backend.kind !== 'postgres') {
    throw new EmulatorError('EMULATOR_FAILED', 'The PgBouncer port needs the PostgreSQL backend.', {
      hint: 'PGlite has one shared session, which a transaction pooler would hand to every client. Use --backend postgres.',
    });
  }
  const roles = (await backend.adminSql('select rolname from pg_roles where rolcanlogin')).map(
    (row) => row[0] as string,
  );
  const bouncer = await startPgbouncer(backend, roles);
  try {
    const gateway = await startGateway({
      host,
      port: 0,
      secureContext,
      allowInsecure: false,
      validator,
      backend: {
        host: bouncer.host,
        port: bouncer.port,
        loginParameters: (role, database, clientSettings) => ({ ...clientSettings, user: role, database }),
        afterLoginSql: () => undefined,
      },
    });
    return {
      port: gateway.port,
      addUser: (role: string) => bouncer.addUser(role),
      stop: async () => {
        await gateway.close();
        await bouncer.stop();
      },
    };
  } catch (error) {
    await bouncer.stop();
    throw error;
  }
}
