// Why `prisma migrate` cannot log in through createPool: Prisma 7's config file takes no driver adapter.
// Prisma 6 had an experimental one (`engine: 'js'` with `adapter` in prisma.config.ts, run by its
// WebAssembly schema engine); 7.0 removed both keys and that engine path. Prisma 7.5's Migrate.setup
// starts only the native schema engine, with the URL of `datasource.url`. `defineConfig` copies only the
// keys it knows, so it drops `engine` and `adapter` without a word; a config written as a plain object is
// refused instead. These tests run the real CLI with the adapter a user would write over createPool: if a
// Prisma release calls it again, they fail, and migrations through createPool become possible (the
// README's Prisma section then changes with them).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { runProgram } from '../../packages/pg-passwordless/test/cli/run-cli.ts';
import {
  datasourceUrl,
  RECORDER_ANSWER,
  type SchemaEngineRecorder,
  writeSchemaEngineRecorder,
} from '../../packages/pg-passwordless/test/helpers/schema-engine-recorder.ts';

const folder = fileURLToPath(new URL('.', import.meta.url));
const require = createRequire(import.meta.url);
const prismaCli = join(dirname(require.resolve('prisma/package.json')), 'build', 'index.js');

/** What a config file gives Prisma: the adapter over createPool, as Prisma 6 took it, and more. */
interface ConfigShape {
  /** Write it as the documented `defineConfig({...})`, or as a plain object (`satisfies PrismaConfig`). */
  form: 'defineConfig' | 'plain';
  /** Add the `datasource.url` that Prisma 7's migrate commands require. */
  withUrl: boolean;
}

/** Writes the config as `name` into `project`; the adapter writes `marker` when Prisma calls it. */
function adapterConfig(
  project: string,
  name: string,
  marker: string,
  { form, withUrl }: ConfigShape,
): string {
  const config = join(project, name);
  const body = [
    '  experimental: { adapter: true },',
    "  engine: 'js',",
    '  async adapter() {',
    `    writeFileSync(${JSON.stringify(marker)}, 'called');`,
    "    return new PrismaPg(await createPool(process.env.DATABASE_URL ?? ''));",
    '  },',
    `  schema: ${JSON.stringify(join(folder, 'schema.prisma'))},`,
    `  migrations: { path: ${JSON.stringify(join(project, 'migrations'))} },`,
    ...(withUrl ? ['  datasource: { url: process.env.DATABASE_URL },'] : []),
  ];
  const [open, close] =
    form === 'defineConfig' ? ['export default defineConfig({', '});'] : ['export default {', '};'];
  const lines = [
    "import { writeFileSync } from 'node:fs';",
    "import { PrismaPg } from '@prisma/adapter-pg';",
    "import { createPool } from 'pg-passwordless/pg';",
    "import { defineConfig } from 'prisma/config';",
    '',
    open,
    ...body,
    close,
    '',
  ];
  writeFileSync(config, lines.join('\n'));
  return config;
}

describe('Prisma 7.5 migrate and a driver adapter in prisma.config.ts', () => {
  let emulator: Emulator;
  let project: string;
  let engine: SchemaEngineRecorder;
  let marker: string;
  before(async () => {
    emulator = await startEmulator({ cloud: 'azure' });
    // Inside this folder, so that the config's imports resolve from the repository's node_modules.
    project = mkdtempSync(join(folder, '.migrate-'));
    const migration = join(project, 'migrations', '20240101000000_create_notes');
    mkdirSync(migration, { recursive: true });
    writeFileSync(
      join(migration, 'migration.sql'),
      'CREATE TABLE "prisma_notes" ("id" SERIAL NOT NULL, "body" TEXT NOT NULL, CONSTRAINT "prisma_notes_pkey" PRIMARY KEY ("id"));\n',
    );
    writeFileSync(join(project, 'migrations', 'migration_lock.toml'), 'provider = "postgresql"\n');
    // The native engine cannot be downloaded here; the recorder stands in for it and shows whether the
    // CLI starts it, and with what.
    engine = writeSchemaEngineRecorder(join(project, 'engine'));
    marker = join(project, 'adapter-called');
  });
  after(async () => {
    await emulator?.stop();
    if (project) rmSync(project, { recursive: true, force: true });
  });

  const migrateDeploy = (config: string) =>
    runProgram(
      process.execPath,
      [prismaCli, 'migrate', 'deploy', '--config', config],
      { ...emulator.env, ...engine.env, CHECKPOINT_DISABLE: '1' },
      60_000,
    );

  const adapterCalled = 'Prisma called the adapter: migrate can now log in through createPool';

  it('defineConfig drops engine and adapter: migrate deploy asks for datasource.url', async () => {
    const config = adapterConfig(project, 'adapter.config.ts', marker, {
      form: 'defineConfig',
      withUrl: false,
    });
    const result = await migrateDeploy(config);
    assert.notEqual(result.code, 0);
    assert.match(
      result.stderr,
      /The datasource\.url property is required in your Prisma config file when using prisma migrate deploy\./,
    );
    assert.equal(existsSync(marker), false, adapterCalled);
    assert.deepEqual(engine.starts(), []);
  });

  it('with datasource.url beside them, migrate deploy starts the native engine with that URL, never the adapter', async () => {
    const config = adapterConfig(project, 'url.config.ts', marker, { form: 'defineConfig', withUrl: true });
    const result = await migrateDeploy(config);
    assert.notEqual(result.code, 0, 'the recorder stops the command');
    assert.match(result.stderr, new RegExp(RECORDER_ANSWER));
    assert.equal(existsSync(marker), false, adapterCalled);
    const starts = engine.starts();
    assert.ok(starts.length > 0, `the CLI never started its schema engine:\n${result.stderr}`);
    for (const argv of starts) assert.equal(datasourceUrl(argv), emulator.env.DATABASE_URL);
  });

  it('as a plain object, the same config is refused: the loader knows none of these keys', async () => {
    const config = adapterConfig(project, 'plain.config.ts', marker, { form: 'plain', withUrl: true });
    const result = await migrateDeploy(config);
    assert.notEqual(result.code, 0);
    // Prisma's message says "syntax"; its schema refuses the keys it does not know (debug: prisma:config).
    assert.match(result.stderr, /Failed to parse syntax of config file at ".*plain\.config\.ts"/);
    assert.equal(existsSync(marker), false, adapterCalled);
  });
});
