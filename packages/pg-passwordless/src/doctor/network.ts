import { lookup } from 'node:dns/promises';
import { isIP, type Socket, connect as tcpConnect } from 'node:net';
import { type ConnectionOptions, type PeerCertificate, connect as tlsConnect } from 'node:tls';
import { serverIdentityOptions } from '../core/server-identity.ts';
import { sslRequest as sslRequestPacket } from '../wire/messages.ts';

/** A probe's outcome: what worked, or the error's code and text. */
export type ProbeResult<T> = ({ ok: true } & T) | { ok: false; code: string; message: string };

const DEFAULT_TIMEOUT_MS = 5_000;

/**
 * Resolves the server's name as the driver will (the system resolver, all addresses).
 *
 * @example
 * const result = await probeDns('localhost');
 * if (result.ok) console.log(result.addresses); // [ '127.0.0.1', '::1' ] (or one of them)
 */
export async function probeDns(
  host: string,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<ProbeResult<{ addresses: string[] }>> {
  if (isIP(host)) return { ok: true, addresses: [host] };
  try {
    const found = await withTimeout(
      lookup(host, { all: true }),
      timeoutMs,
      'ETIMEOUT',
      `DNS lookup of ${host}`,
    );
    return { ok: true, addresses: found.map((entry) => entry.address) };
  } catch (error) {
    return failure(error);
  }
}

/**
 * Opens a TCP connection to the server and closes it again.
 *
 * @example
 * const result = await probeTcp(process.env.PGHOST ?? '127.0.0.1', Number(process.env.PGPORT ?? 5432));
 * console.log(result.ok ? `connected in ${result.elapsedMs} ms` : result.message);
 */
export async function probeTcp(
  host: string,
  port: number,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<ProbeResult<{ elapsedMs: number; address: string }>> {
  const startedAt = Date.now();
  try {
    const socket = await openSocket(host, port, timeoutMs);
    const address = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.destroy();
    return { ok: true, elapsedMs: Date.now() - startedAt, address };
  } catch (error) {
    return failure(error);
  }
}

/** What the server's certificate says; never anything secret. */
export interface PeerCertificateFacts {
  subject: string;
  issuer: string;
  subjectAltName?: string;
  validFrom: string;
  validTo: string;
  /** The chain as sent, leaf first: each certificate's subject CN. */
  chain: string[];
}

export interface TlsProbe {
  /** Whether the chain and the host name passed the checks of the TLS options given. */
  verified: boolean;
  /** The verification error's code and text when they did not. */
  errorCode?: string;
  error?: string;
  protocol?: string;
  certificate?: PeerCertificateFacts;
}

/**
 * Asks the server for TLS the PostgreSQL way (the 8-byte SSLRequest: length 8, code 80877103; the
 * server answers `S` or `N`), then runs the TLS handshake with the driver's own TLS options, so the
 * chain and the host name are checked against the trust store the driver will use. When verification
 * fails, a second handshake without it fetches the certificate to show what the server presented.
 *
 * @example
 * const { readFileSync } = await import('node:fs');
 * const host = process.env.PGHOST ?? '127.0.0.1';
 * const ca = process.env.PGSSLROOTCERT ? readFileSync(process.env.PGSSLROOTCERT) : undefined; // else the system store
 * const result = await probeTls(host, Number(process.env.PGPORT ?? 5432), { rejectUnauthorized: true, ca });
 * if (result.ok) console.log(result.verified, result.certificate?.subject, result.error);
 */
export async function probeTls(
  host: string,
  port: number,
  tls: ConnectionOptions,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<ProbeResult<TlsProbe>> {
  try {
    const first = await handshake(host, port, tls, timeoutMs);
    if (first.ok)
      return { ok: true, verified: true, protocol: first.protocol, certificate: first.certificate };
    const unverified = await handshake(host, port, { ...tls, rejectUnauthorized: false }, timeoutMs).catch(
      () => undefined,
    );
    const seen = unverified?.ok ? unverified : undefined;
    return {
      ok: true,
      verified: false,
      errorCode: first.code,
      error: first.message,
      protocol: seen?.protocol,
      certificate: seen?.certificate,
    };
  } catch (error) {
    return failure(error);
  }
}

type Handshake =
  | { ok: true; protocol?: string; certificate?: PeerCertificateFacts }
  | { ok: false; code: string; message: string };

/** Resolves with the handshake's verdict; rejects when the server is not there or refuses TLS. */
async function handshake(
  host: string,
  port: number,
  tls: ConnectionOptions,
  timeoutMs: number,
): Promise<Handshake> {
  const socket = await openSocket(host, port, timeoutMs);
  try {
    await sslRequest(socket, timeoutMs);
  } catch (error) {
    socket.destroy();
    throw error;
  }
  return new Promise<Handshake>((resolve) => {
    // The server's name as SNI, or the check bound to its IP; a check the options set (verify-ca's) wins.
    const secure = tlsConnect({ ...serverIdentityOptions(host), ...tls, socket });
    const timer = setTimeout(() => {
      secure.destroy();
      resolve({ ok: false, code: 'ETIMEDOUT', message: `no TLS handshake within ${timeoutMs} ms` });
    }, timeoutMs);
    secure.once('secureConnect', () => {
      clearTimeout(timer);
      const certificate = describeCertificate(secure.getPeerCertificate(true));
      const protocol = secure.getProtocol() ?? undefined;
      secure.end();
      secure.destroy();
      resolve({ ok: true, protocol, certificate });
    });
    secure.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      secure.destroy();
      resolve({ ok: false, code: error.code ?? 'TLS_ERROR', message: error.message });
    });
  });
}

function sslRequest(socket: Socket, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        done(
          Object.assign(new Error(`the server did not answer the SSLRequest within ${timeoutMs} ms`), {
            code: 'ETIMEDOUT',
          }),
        ),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      const answer = String.fromCharCode(chunk[0] ?? 0);
      if (chunk.length > 1) socket.unshift(chunk.subarray(1));
      if (answer === 'S') done();
      else if (answer === 'N')
        done(
          Object.assign(new Error('the server does not offer TLS (it answered N to the SSLRequest)'), {
            code: 'TLS_NOT_OFFERED',
          }),
        );
      else
        done(
          Object.assign(new Error(`unexpected answer to the SSLRequest: ${JSON.stringify(answer)}`), {
            code: 'NOT_POSTGRES',
          }),
        );
    };
    const onError = (error: Error) => done(error);
    const onClose = () =>
      done(
        Object.assign(new Error('the server closed the connection after the SSLRequest'), {
          code: 'ECONNRESET',
        }),
      );
    function done(error?: Error) {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.pause();
      if (error) reject(error);
      else resolve();
    }
    socket.once('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
    socket.write(sslRequestPacket());
  });
}

function openSocket(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        Object.assign(new Error(`no connection to ${host}:${port} within ${timeoutMs} ms`), {
          code: 'ETIMEDOUT',
        }),
      );
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    });
  });
}

function describeCertificate(certificate: PeerCertificate | undefined): PeerCertificateFacts | undefined {
  if (!certificate?.subject) return undefined;
  const chain: string[] = [];
  const seen = new Set<string>();
  let current: (PeerCertificate & { issuerCertificate?: PeerCertificate }) | undefined = certificate;
  while (current?.subject && !seen.has(current.fingerprint256)) {
    seen.add(current.fingerprint256);
    chain.push(nameOf(current.subject));
    current = (current as { issuerCertificate?: PeerCertificate }).issuerCertificate;
  }
  return {
    subject: nameOf(certificate.subject),
    issuer: nameOf(certificate.issuer),
    subjectAltName: certificate.subjectaltname || undefined,
    validFrom: new Date(certificate.valid_from).toISOString(),
    validTo: new Date(certificate.valid_to).toISOString(),
    chain,
  };
}

function nameOf(name: PeerCertificate['subject']): string {
  const parts = Object.entries(name ?? {}).map(
    ([key, value]) => `${key}=${Array.isArray(value) ? value.join('+') : String(value)}`,
  );
  return parts.join(', ') || '(empty)';
}

function failure(error: unknown): { ok: false; code: string; message: string } {
  const { code, message } = error as { code?: string; message?: string };
  return { ok: false, code: code ?? 'ERROR', message: message ?? String(error) };
}

async function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  code: string,
  what: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error(`${what} took longer than ${timeoutMs} ms`), { code })),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
