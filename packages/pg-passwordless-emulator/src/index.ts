// The package entry: what pg-passwordless-emulator exports, each from the file that owns it.
export type { CertificateNames } from './certificates.ts';
export { EMULATOR_HELP, parseEmulatorArgs, runEmulatorCommand } from './cli.ts';
export type { AzureCredentialKind, IdentityInput } from './clouds/azure.ts';
export type { ManagedIdentity } from './clouds/azure-identities.ts';
export type { EntraRole } from './clouds/azure-validator.ts';
export type { FederatedTokenOptions } from './clouds/azure-workload-identity.ts';
export type { CloudName } from './clouds/cloud.ts';
export { EmulatorError, type EmulatorErrorCode } from './emulator-error.ts';
export type { Emulator, EmulatorCounters, EmulatorOptions } from './emulator-options.ts';
export type { Faults } from './faults.ts';
export type { LoggedRequest } from './identity-server.ts';
export { startEmulator } from './start-emulator.ts';
