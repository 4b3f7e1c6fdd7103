import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { CloudDefinition } from '../core/cloud.ts';
import type { ConnectionTarget } from '../core/connection-url.ts';
import { describeCaSource, type ResolvedTls, resolveTls } from '../core/tls.ts';
import { type ProbeResult, probeDns, probeTcp, probeTls, type TlsProbe } from './network.ts';
import { type DoctorStep, errorStep, type StepLog } from './report.ts';
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
function tlsOf(outcome: SettingsOutcome): ResolvedTls {
  return outcome.connection?.tls ?? resolveTls(outcome.target, outcome.settings.tls, outcome.settings.env);
}

async function tlsStep(log: StepLog, outcome: SettingsOutcome, timeoutMs: number): Promise<boolean> {
  let tls: ResolvedTls;
  try {
    tls = tlsOf(outcome);
  } catch (error) {
    // verify-ca with the public roots, an unreadable CA file: the error says why, and what to do.
    log.add(errorStep('tls', error));
    return false;
  }
  if (tls.options === false) {
    log.add({
      step: 'tls',
      status: 'skip',
      detail: 'sslmode=disable (allowed for a loopback emulator only): the token would travel unencrypted',
    });
    return true;
  }
  const { target } = outcome;
  const probe = await probeTls(target.host, target.port, tls.options, timeoutMs);
  const step = tlsVerdict(probe, tls, outcome);
  log.add(step);
  return step.status === 'ok';
}

/** The TLS step from the probe: the certificate seen, and whether it passed the connection's own checks. */
function tlsVerdict(probe: ProbeResult<TlsProbe>, tls: ResolvedTls, outcome: SettingsOutcome): DoctorStep {
  const { target, cloud } = outcome;
  if (!probe.ok) {
    return {
      step: 'tls',
      status: 'FAIL',
      code: probe.code,
      detail: `TLS with ${target.host}:${target.port}: ${probe.message}`,
      hint:
        probe.code === 'TLS_NOT_OFFERED'
          ? 'Turn TLS on at the server (the clouds have it on by default; some need it required).'
          : 'The server did not complete the PostgreSQL TLS negotiation: is this a PostgreSQL server?',
    };
  }
  const trust = describeCaSource(tls.ca, outcome.settings.env);
  const cert = probe.certificate;
  const certText = cert
    ? `certificate ${cert.subject}, issuer ${cert.issuer}${cert.subjectAltName ? `, ${cert.subjectAltName}` : ''}, valid ${cert.validFrom} to ${cert.validTo}`
    : 'no certificate seen';
  const data = {
    sslmode: tls.sslmode,
    caSource: tls.ca.from,
    trustStore: trust,
    protocol: probe.protocol,
    certificate: cert,
    verified: probe.verified,
  };
  const options = tls.options as ConnectionOptions;
  if (options.rejectUnauthorized === false) {
    const detail = `${probe.protocol ?? 'TLS'}, ${certText}; not verified (sslmode allows it)`;
    return { step: 'tls', status: 'ok', detail, data };
  }
  if (probe.verified) {
    const nameText = tls.sslmode === 'verify-ca' ? ', the name not checked (verify-ca with that CA)' : '';
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

function tlsHint(
  code: string | undefined,
  target: ConnectionTarget,
  cloud: CloudDefinition | undefined,
): string {
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const named =
      isIP(target.host) === 0 ? 'the name' : 'the IP address (an IP Address entry of its subjectAltName)';
    return `The certificate does not name ${target.host} (${named}): connect with a name or address it lists, or use sslmode=verify-ca with the server’s own CA file as sslrootcert (verify-ca is refused with the public roots).`;
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return 'The certificate is outside its validity dates: check this machine’s clock, or renew the server’s certificate.';
  const where = cloud?.doctor?.caHint;
  return `The server’s certificate is not signed by a CA in the trust store in use: point PGSSLROOTCERT (or sslrootcert) at the server’s CA${where ? ` (${where})` : ''}.`;
}
