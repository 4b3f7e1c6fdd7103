/**
 * The PostgreSQL wire code shared by `pg-passwordless proxy` and the emulator's gateway: message
 * formats, a packet reader, both sides of a login, and the passthrough that follows it.
 */
export * from './connection-scope.ts';
export * from './login-client.ts';
export * from './login-server.ts';
export * from './messages.ts';
export * from './packet-reader.ts';
