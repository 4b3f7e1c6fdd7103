import type { CloudDefinition } from '../core/cloud.ts';
import type { ConnectionTarget } from '../core/connection-url.ts';
import { resolveTls, type TlsResolution } from '../core/tls.ts';
import { probeDns, probeTcp, probeTls } from './network.ts';
import { errorStep, type StepLog } from './report.ts';
import type { SettingsOutcome } from './settings-step.ts';

/**
 * Steps 4 to 6: DNS, TCP and TLS, the way to the server without the token. TLS is probed with the very
 * options the connection uses, and reported with where its CA came from. True when a login may follow.
 */
export async function networkSteps(
  log: StepLog,
  outcome: SettingsOutcome,
  timeoutMs: number,
): Promise<boolean> {
  const { target } = outcome;
  const dns = await probeDns(target.host, timeoutMs);
  if (!dns.ok) {
    log.add({
      step: 'dns',
      status: 'FAIL',
      code: dns.code,
      detail: `${target.host}: ${dns.message}`,
      hint: 'Check the host name (a private endpoint needs the private DNS zone linked to this network).',
    });
    log.skip(['tcp', 'tls'], 'the name did not resolve');
    return false;
  }
  log.add({
    step: 'dns',
    status: 'ok',
    detail: `${target.host} → ${dns.addresses.join(', ')}`,
    data: { addresses: dns.addresses },
  });
  const tcp = await probeTcp(target.host, target.port, timeoutMs);
  if (!tcp.ok) {
    log.add({
      step: 'tcp',
      status: 'FAIL',
      code: tcp.code,
      detail: `${target.host}:${target.port}: ${tcp.message}`,
      hint: 'Is the server running on that port, and do firewalls, network security groups or security groups let this machine in?',
    });
    log.skip(['tls'], 'no TCP connection');
    return false;
  }
  log.add({
    step: 'tcp',
    status: 'ok',
    detail: `connected to ${tcp.address} in ${tcp.elapsedMs} ms`,
    data: { address: tcp.address, elapsedMs: tcp.elapsedMs },
  });
  return tlsStep(log, outcome, timeoutMs);
}

/** The connection's own TLS decision; when there is none (the gate is off), the one it would take. */
function tlsOf(outcome: SettingsOutcome): TlsResolution {
  return outcome.connection?.tls ?? resolveTls(outcome.target, outcome.settings.tls, outcome.settings.env);
}

async function tlsStep(log: StepLog, outcome: SettingsOutcome, timeoutMs: number): Promise<boolean> {
  const { target, cloud } = outcome;
  let tls: TlsResolution;
  try {
    tls = tlsOf(outcome);
  } catch (error) {
    log.add(errorStep('tls', error));
    return false;
  }
  const { options } = tls;
  if (options === false) {
    log.add({
      step: 'tls',
      status: 'skip',
      detail: 'sslmode=disable (allowed for a loopback emulator only): the token would travel unencrypted',
    });
    return true;
  }
  const trust = tls.ca.label;
  const probe = await probeTls(target.host, target.port, options, timeoutMs);
  if (!probe.ok) {
    log.add({
      step: 'tls',
      status: 'FAIL',
      code: probe.code,
      detail: `TLS with ${target.host}:${target.port}: ${probe.message}`,
      hint:
        probe.code === 'TLS_NOT_OFFERED'
          ? 'Turn TLS on at the server (the clouds have it on by default; Cloud SQL: require SSL).'
          : 'The server did not complete the PostgreSQL TLS negotiation: is this a PostgreSQL server?',
    });
    return false;
  }
  const cert = probe.certificate;
  const certText = cert
    ? `certificate ${cert.subject}, issuer ${cert.issuer}${cert.subjectAltName ? `, ${cert.subjectAltName}` : ''}, valid ${cert.validFrom} to ${cert.validTo}`
    : 'no certificate seen';
  const verifyText =
    options.rejectUnauthorized === false ? 'not verified (sslmode allows it)' : `verified against ${trust}`;
  const data = { trustStore: trust, protocol: probe.protocol, certificate: cert, verified: probe.verified };
  if (probe.verified || options.rejectUnauthorized === false) {
    log.add({
      step: 'tls',
      status: 'ok',
      detail: `${probe.protocol ?? 'TLS'}, ${certText}; ${verifyText}`,
      data,
    });
    return true;
  }
  log.add({
    step: 'tls',
    status: 'FAIL',
    code: probe.errorCode === 'ERR_TLS_CERT_ALTNAME_INVALID' ? 'TLS_HOSTNAME_MISMATCH' : 'TLS_UNTRUSTED',
    detail: `verification against ${trust} failed: ${probe.errorCode}: ${probe.error}; ${certText}`,
    hint: tlsHint(probe.errorCode, target, cloud),
    data: { ...data, error: probe.error, errorCode: probe.errorCode },
  });
  return false;
}

function tlsHint(
  code: string | undefined,
  target: ConnectionTarget,
  cloud: CloudDefinition | undefined,
): string {
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return `The certificate does not name ${target.host}: connect with a name it lists, or use sslmode=verify-ca with the server's own CA file (Cloud SQL by IP address).`;
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return 'The certificate is outside its validity dates: check this machine’s clock, or renew the server’s certificate.';
  const where = cloud?.doctor?.caHint;
  return `The server’s certificate is not signed by a CA in the trust store in use: point PGSSLROOTCERT (or sslrootcert) at the server’s CA${where ? ` (${where})` : ''}.`;
}
