import { createRequire } from 'node:module';

/** The subset of an `@azure/core-rest-pipeline` response that is read here: never its body's token. */
interface PipelineResponseLike {
  status: number;
  headers: { get(name: string): string | undefined };
  bodyAsText?: string | null;
}

/** The subset of `@azure/core-rest-pipeline`'s HttpClient, the `httpClient` option of every credential. */
export interface HttpClientLike {
  sendRequest(request: never): Promise<PipelineResponseLike>;
}

/** A failing answer of the identity endpoint, as the HTTP pipeline saw it. Numbers and header values only. */
export interface EndpointAnswer {
  status: number;
  /** The answer's `Retry-After`, `retry-after-ms` and `x-ms-retry-after-ms` headers, those it had. */
  headers: Record<string, string>;
  /** Entra's AADSTS codes (`error_codes`), when the body names them. */
  errorCodes: number[];
}

/** What the SDK's error drops: the identity endpoint's failing answers during one getToken. */
export interface AnswerRecorder {
  /** The client to build the credential with: the SDK's own default HTTP client, its answers recorded. */
  httpClient: HttpClientLike;
  /** Forgets what was recorded (before each getToken). */
  reset(): void;
  /**
   * The answer to the latest request, when it was a failure (status 400 or more): undefined when it
   * succeeded, got no answer (a network error), or nothing was sent since the last reset. An earlier
   * request's failure never stands for a later one's (the IMDS availability probe expects a 400).
   */
  lastFailure(): EndpointAnswer | undefined;
}

const RETRY_HEADERS = ['retry-after', 'retry-after-ms', 'x-ms-retry-after-ms'];

/**
 * Records the identity endpoint's failing answers, headers included, as they pass through the HTTP
 * client every `@azure/identity` credential takes as an option (`httpClient`, a supported option of
 * @azure/core-client's CommonClientOptions): MSAL keeps only the status of a 429 and drops its
 * `Retry-After`, and DefaultAzureCredential's chain may drop even the status. The client is the SDK's
 * own default (`createDefaultHttpClient` of the @azure/core-rest-pipeline that @azure/identity itself
 * depends on), so requests go out exactly as they would without it. Undefined when that package cannot
 * be loaded (then the caller backs off on a 429 without knowing the header).
 *
 * An `additionalPolicies` pipeline policy would see the same answers, but ManagedIdentityCredential
 * replaces the caller's policies with its own retry policy; the HTTP client reaches every credential.
 *
 * @example
 * const recorder = createAnswerRecorder();
 * console.log(typeof recorder?.httpClient.sendRequest, recorder?.lastFailure()); // function undefined
 */
export function createAnswerRecorder(): AnswerRecorder | undefined {
  const inner = defaultHttpClient();
  if (!inner) return undefined;
  let last: EndpointAnswer | undefined;
  return {
    httpClient: {
      async sendRequest(request: never) {
        last = undefined;
        const response = await inner.sendRequest(request);
        last = response.status >= 400 ? answerOf(response) : undefined;
        return response;
      },
    },
    reset: () => {
      last = undefined;
    },
    lastFailure: () => last,
  };
}

/**
 * The default HTTP client of the @azure/core-rest-pipeline that @azure/identity depends on, resolved from
 * @azure/identity's own folder (where a strict installer such as pnpm puts it, out of reach from here).
 */
function defaultHttpClient(): HttpClientLike | undefined {
  try {
    const identity = createRequire(import.meta.url).resolve('@azure/identity');
    const pipeline = createRequire(identity)('@azure/core-rest-pipeline') as {
      createDefaultHttpClient(): HttpClientLike;
    };
    return pipeline.createDefaultHttpClient();
  } catch {
    return undefined;
  }
}

function answerOf(response: PipelineResponseLike): EndpointAnswer {
  const headers: Record<string, string> = {};
  for (const name of RETRY_HEADERS) {
    const value = response.headers.get(name);
    if (value !== undefined) headers[name] = value;
  }
  return { status: response.status, headers, errorCodes: errorCodesOf(response.bodyAsText) };
}

/** Entra's `error_codes` of an error body; nothing else of the body is kept. */
function errorCodesOf(body: string | null | undefined): number[] {
  if (!body) return [];
  try {
    const codes = (JSON.parse(body) as { error_codes?: unknown }).error_codes;
    return Array.isArray(codes) ? codes.filter((code): code is number => typeof code === 'number') : [];
  } catch {
    return [];
  }
}

/**
 * The SDK's error with the endpoint's answer beside it, for the one failure classifier: its status and
 * `Retry-After` are found on this error, the SDK's own is its `cause`.
 *
 * @example
 * const error = new EndpointAnswerError({ status: 429, headers: { 'retry-after': '3' }, errorCodes: [] }, new Error('throttled'));
 * console.log(error.status, error.headers['retry-after'], error.message); // 429 3 the identity endpoint answered 429
 */
export class EndpointAnswerError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly errorCodes: number[];

  constructor(answer: EndpointAnswer, cause: unknown) {
    super(`the identity endpoint answered ${answer.status}`, { cause });
    this.name = 'EndpointAnswerError';
    this.status = answer.status;
    this.headers = answer.headers;
    this.errorCodes = answer.errorCodes;
  }
}
