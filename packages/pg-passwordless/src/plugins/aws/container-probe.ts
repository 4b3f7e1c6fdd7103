import { readFile } from 'node:fs/promises';
import type { Env } from '../../core/connection-url.ts';

/** What the container credentials endpoint answered one request: a refusal, an answer, or nothing. */
export type ProbeOutcome =
  | { refused: true; status: number; reason: string; retryAfter?: string }
  | { refused: false; status: number }
  | { networkCode: string };

/** The hosts fromHttp takes over plain http (credential-provider-http's `checkUrl`). */
const PLAIN_HTTP_HOSTS = new Set(['localhost', '[::1]', '169.254.170.2', '169.254.170.23', '[fd00:ec2::23]']);

/**
 * Asks the container credentials endpoint once, as @aws-sdk/credential-provider-http's `fromHttp` asks it
 * (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` on 169.254.170.2, else `_FULL_URI`; the `Authorization`
 * header from `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, read now, else `_TOKEN`), to learn what the
 * SDK's chain does not keep when that endpoint fails: its status and its reason (the chain asks again
 * through fromContainerMetadata, which ignores the token file, then throws "Could not load credentials
 * from any providers"). Only a refusal's body is read: an answer of 200 holds credentials, left unread.
 * Undefined when there is nothing to ask, or nothing fromHttp itself would ask (a URL it refuses).
 *
 * @example
 * // Run where process.env holds what startEmulator({ cloud: 'aws' }) exports.
 * console.log(await probeContainerEndpoint()); // { refused: false, status: 200 }
 * const wrong = { ...process.env, AWS_CONTAINER_AUTHORIZATION_TOKEN: 'not-the-token' };
 * const refused = await probeContainerEndpoint(wrong);
 * console.log(refused && 'status' in refused && refused.status); // 401, with the endpoint's reason
 */
export async function probeContainerEndpoint(
  env: Env = process.env,
  timeoutMs = 1000,
): Promise<ProbeOutcome | undefined> {
  const url = containerEndpoint(env);
  if (!url) return undefined;
  const authorization = env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
    ? await readFile(env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, 'utf8').catch(() => undefined)
    : env.AWS_CONTAINER_AUTHORIZATION_TOKEN;
  if (authorization === undefined && env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) return undefined;
  let response: Response;
  try {
    response = await fetch(url, {
      headers: authorization ? { Authorization: authorization } : {},
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: unknown } }).cause;
    return { networkCode: typeof cause?.code === 'string' ? cause.code : (error as Error).name };
  }
  if (response.ok) {
    await response.body?.cancel();
    return { refused: false, status: response.status };
  }
  const retryAfter = response.headers.get('retry-after') ?? undefined;
  return { refused: true, status: response.status, reason: reasonOf(await response.text()), retryAfter };
}

function containerEndpoint(env: Env): URL | undefined {
  let url: URL;
  try {
    if (env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)
      url = new URL(`http://169.254.170.2${env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI}`);
    else if (env.AWS_CONTAINER_CREDENTIALS_FULL_URI) url = new URL(env.AWS_CONTAINER_CREDENTIALS_FULL_URI);
    else return undefined;
  } catch {
    return undefined;
  }
  const plainAllowed = PLAIN_HTTP_HOSTS.has(url.hostname) || /^127(\.\d{1,3}){3}$/.test(url.hostname);
  return url.protocol === 'https:' || (url.protocol === 'http:' && plainAllowed) ? url : undefined;
}

/** The endpoint's reason: a JSON body's `Message` or `message` (ECS), else the text's first line (the EKS agent). */
function reasonOf(body: string): string {
  let reason = body.trim().split('\n')[0] ?? '';
  try {
    const parsed = JSON.parse(body) as { Message?: unknown; message?: unknown };
    const message = parsed.Message ?? parsed.message;
    if (typeof message === 'string') reason = message;
  } catch {
    // not JSON: the text itself
  }
  return reason.length > 300 ? `${reason.slice(0, 300)}…` : reason;
}
