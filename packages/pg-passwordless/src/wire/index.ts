/**
 * The PostgreSQL wire code shared by `pg-passwordless proxy` and the emulator's gateway: message
 * formats, a packet reader, both sides of a login, and the passthrough that follows it. Only what the
 * proxy, the doctor and the gateway use is exported here; the rest stays inside the package.
 */
export { type ConnectionScope, endThenDestroy } from './connection-scope.ts';
export {
  connectToServer,
  loginToServer,
  pipeSession,
  type ServerAddress,
  type ServerLogin,
  startTls,
} from './login-client.ts';
export {
  type AcceptedStartup,
  acceptStartup,
  type ClientConnection,
  type LoginOutcome,
  LoginRefusal,
  readPassword,
  refusal,
  type ServeLoginOptions,
  serveLogin,
} from './login-server.ts';
export {
  authenticationCleartextPassword,
  errorFields,
  fatalError,
  MAX_STARTUP_LENGTH,
  queryMessage,
  quoteIdentifier,
  sslRequest,
  startupMessage,
  typedMessage,
} from './messages.ts';
export {
  PacketLengthError,
  PacketReader,
  type PacketReaderOptions,
  type TypedPacket,
} from './packet-reader.ts';
