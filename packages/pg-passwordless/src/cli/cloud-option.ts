import { cloudSwitchVariable } from '../core/cloud.ts';
import type { Env } from '../core/connection-url.ts';
import { listClouds } from '../index.ts';
import type { ParsedArgs } from './frame/parsed-args.ts';

/**
 * The `--cloud NAME` line of a command's help, listing the clouds this environment registers (the
 * built-ins, and those PG_PASSWORDLESS_PLUGINS names), padded to the help's column.
 *
 * @example
 * console.log(await cloudOptionHelp({}, 16));
 * //   --cloud NAME    switch on one cloud: azure, aws or gcp (else PG_PASSWORDLESS_ENABLED=true and
 * //                   its PG_PASSWORDLESS_<NAME>_ENABLED=true choose, e.g. PG_PASSWORDLESS_AZURE_ENABLED)
 */
export async function cloudOptionHelp(env: Env, column: number): Promise<string> {
  const names = await cloudNames(env);
  const list = names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)}` : (names[0] ?? '');
  const indent = ' '.repeat(column + 2);
  return (
    `  ${'--cloud NAME'.padEnd(column)}switch on one cloud: ${list} (else PG_PASSWORDLESS_ENABLED=true and\n` +
    `${indent}its PG_PASSWORDLESS_<NAME>_ENABLED=true choose, e.g. ${cloudSwitchVariable(names[0] ?? 'name')})`
  );
}

/** The cloud `--cloud` names, checked against the registered ones. */
export async function chosenCloud(args: ParsedArgs, env: Env): Promise<string | undefined> {
  if (args.text('cloud') === undefined) return undefined;
  return args.oneOf('cloud', await cloudNames(env));
}

async function cloudNames(env: Env): Promise<string[]> {
  // Quietly: a plugin module that cannot load is reported when the connection is resolved.
  return (await listClouds({ env, logger: { warn: () => undefined } })).map((cloud) => cloud.name);
}
