// Vendored from durable-patterns packages/shared/src/http.ts by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
/**
 * Hono helpers shared by every app: RFC 9457 problem+json errors, validated object names,
 * JSON bodies that refuse the wrong content type, size limits, and WebSocket upgrade checks.
 *
 * @example
 * ```ts
 * const app = new Hono<{ Bindings: Env }>();
 * app.onError(onError);
 * app.notFound(notFound);
 * app.post("/api/counters/:name/increment", params(z.object({ name: objectName })),
 *   jsonBody(z.object({ by: z.int() }), { optional: true }), (c) => ...);
 * ```
 */
import {
  Hono,
  type Env as HonoEnv,
  type ErrorHandler,
  type Handler,
  type MiddlewareHandler,
  type NotFoundHandler,
} from "hono";
import type { Schema } from "hono/types";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { validator } from "hono/validator";
import { zValidator } from "@hono/zod-validator";
import { z } from "zod";
import { requestLog } from "./log";

/** The body of an RFC 9457 problem response. Extra members carry machine-readable details. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  // Not `unknown`: the RPC types of a service binding drop every member of a result that may not
  // be serializable, so a refusal carrying a problem would vanish from them.
  [extension: string]: ProblemExtension;
}

/** What a problem's extension members may hold (a serializable value; JSON in practice). */
export type ProblemExtension = string | number | boolean | null | object;

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  426: "Upgrade Required",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** Problem types are stable URNs a client can switch on; `about:blank` means "just the status". */
export const problemType = (slug: string): string => `urn:durable-patterns:problem:${slug}`;

/**
 * An error that becomes a problem+json response. Throw it anywhere in a route (or a Durable
 * Object method called from one) and {@link onError} answers with it. `type` is a slug of this
 * project's problem types (`"out-of-range"` becomes {@link problemType}`("out-of-range")`) or an
 * absolute URI kept as it is (a problem passed on from an RPC refusal); without it, `about:blank`.
 */
export class ProblemError extends HTTPException {
  readonly problem: Problem;

  constructor(
    status: ContentfulStatusCode,
    detail: string,
    options: {
      type?: string;
      title?: string;
      headers?: HeadersInit;
      extensions?: Record<string, ProblemExtension>;
    } = {},
  ) {
    super(status, { message: detail });
    this.problem = {
      type:
        options.type === undefined
          ? "about:blank"
          : options.type.includes(":")
            ? options.type
            : problemType(options.type),
      title: options.title ?? TITLES[status] ?? "Error",
      status,
      detail,
      ...options.extensions,
    };
    this.headers = options.headers;
  }

  private readonly headers: HeadersInit | undefined;

  override getResponse(): Response {
    return problemResponse(this.problem, this.headers);
  }
}

/** Builds a problem+json response. */
export function problemResponse(problem: Problem, headers?: HeadersInit): Response {
  const response = new Response(JSON.stringify(problem), { status: problem.status, headers });
  response.headers.set("content-type", "application/problem+json");
  return response;
}

/**
 * The app's error handler: problem errors answer as themselves, Hono's own HTTP errors become
 * problems with their status, anything else is logged with the request and answered with a
 * 500 that leaks nothing.
 */
export const onError: ErrorHandler = (err, c) => {
  if (err instanceof ProblemError) return err.getResponse();
  if (err instanceof HTTPException) {
    const status = err.status;
    return problemResponse({ type: "about:blank", title: TITLES[status] ?? "Error", status, detail: err.message });
  }
  console.error(
    JSON.stringify({
      message: "unhandled error",
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      ray: c.req.header("cf-ray") ?? null,
      error: err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : String(err),
    }),
  );
  return problemResponse({
    type: "about:blank",
    title: TITLES[500]!,
    status: 500,
    detail: "An unexpected error occurred. It has been logged.",
  });
};

/**
 * `GET /api/health` for uptime checks: `{"ok":true,"app","version"}`, without touching any object
 * (an object's trouble is not the Worker's, and a check must not wake objects).
 */
export function health(app: string, version: string): Handler {
  return (c) => c.json({ ok: true, app, version });
}

/** The app's 404 handler, as a problem. */
export const notFound: NotFoundHandler = (c) =>
  problemResponse({
    type: "about:blank",
    title: TITLES[404]!,
    status: 404,
    detail: `No route for ${c.req.method} ${new URL(c.req.url).pathname}.`,
  });

/** The pattern every object name follows: 1 to 64 letters, digits, `_` or `-`. */
export const OBJECT_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** A validated object name (see {@link OBJECT_NAME_PATTERN}). */
export const objectName = z
  .string()
  .regex(OBJECT_NAME_PATTERN, "must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'");

/** The id of an alarm-queue task in a path (a schedule, a dead letter): a positive safe integer. */
export const taskId = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

/** zod issues as a flat list a client can show next to its fields. */
export function issuesOf(error: ValidationFailure): { path: string; message: string }[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join("."), message: issue.message }));
}

/** Issues as one sentence for a `detail`: `path: message` each (the message alone at the root), `; `-separated. */
export function describeIssues(issues: readonly { path: string; message: string }[]): string {
  return issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ");
}

/** The part of a zod error (classic or core) the helpers read. */
interface ValidationFailure {
  issues: readonly { path: readonly PropertyKey[]; message: string }[];
}

function invalid(status: 400 | 422, where: string, error: ValidationFailure): ProblemError {
  const issues = issuesOf(error);
  return new ProblemError(status, `Invalid ${where}: ${describeIssues(issues)}`, {
    type: `invalid-${where.replace(/\s+/g, "-")}`,
    extensions: { errors: issues },
  });
}

/** Validates path parameters; a mismatch is a 400 problem. */
export function params<S extends z.ZodType>(schema: S) {
  return zValidator("param", schema, (result) => {
    if (!result.success) throw invalid(400, "path parameter", result.error);
  });
}

/**
 * A query validator's type with the query optional for a typed client (Hono's `hc`) when every
 * field of it is: `GET /keys/:key` need not send `?policies=` to be called.
 */
type OptionalQuery<M> =
  M extends MiddlewareHandler<infer E, infer P, infer I>
    ? I extends { in: { query: infer Q }; out?: infer O }
      ? MiddlewareHandler<E, P, { in: object extends Q ? { query?: Q } : { query: Q }; out: O & object }>
      : M
    : M;

/** Validates the query string; a mismatch is a 400 problem. */
export function query<S extends z.ZodType>(schema: S) {
  const validate = zValidator("query", schema, (result) => {
    if (!result.success) throw invalid(400, "query", result.error);
  });
  return validate as OptionalQuery<typeof validate>;
}

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** The validated body's middleware type: what a typed client (Hono's `hc`) sends, and what a route reads. */
export type JsonBody<S extends z.ZodType, Optional extends boolean> = MiddlewareHandler<
  HonoEnv,
  string,
  {
    // The schema's input (fields with defaults may be left out); the whole body with `optional`.
    in: Optional extends true ? { json?: z.input<S> } : { json: z.input<S> };
    out: { json: z.output<S> };
  }
>;

/**
 * Validates a JSON body against `schema`.
 *
 * - a non-JSON `Content-Type` with a body is a 415 (Hono's own validator would silently treat it
 *   as `{}`, so `text/plain` `{"by":5}` would increment by the default instead of failing);
 * - malformed JSON is a 400; JSON that does not match the schema is a 422 with `errors`;
 * - an empty body is a 400, or with `optional: true` validates as `{}` (so defaults apply),
 *   whatever its `Content-Type`: clients often send `application/json` with no body.
 *
 * Pair it with {@link limitBody} so a huge body is refused before it is read.
 */
export function jsonBody<S extends z.ZodType, Optional extends boolean = false>(
  schema: S,
  options: { optional?: Optional } = {},
): JsonBody<S, Optional> {
  const parse = (value: unknown): z.output<S> => {
    const result = schema.safeParse(value);
    if (!result.success) throw invalid(422, "body", result.error);
    return result.data;
  };
  const validate = validator("json", async (value: unknown): Promise<z.output<S>> => parse(value));
  // Hono's validator parses JSON before `validate` sees it, so an empty JSON body would be a
  // 400 "malformed JSON" and a text/plain body would pass as `{}`: decide those cases first.
  const checked: typeof validate = async (c, next) => {
    const mediaType = (c.req.header("content-type") ?? "").split(";")[0]!.trim();
    const isJson = JSON_MEDIA_TYPE.test(mediaType);
    // Cached: the validator's c.req.json() parses this same text. A body that is not JSON is only
    // measured, never decoded (workerd warns when a binary body is read as text).
    const empty = isJson ? (await c.req.text()).length === 0 : (await c.req.arrayBuffer()).byteLength === 0;
    if (empty) {
      if (!options.optional) {
        throw new ProblemError(400, "A JSON body is required.", { type: "missing-body" });
      }
      c.req.addValidatedData("json", parse({}) as object);
      return next();
    }
    if (!isJson) {
      throw new ProblemError(415, `Send the body as application/json (got "${mediaType || "no content type"}").`, {
        type: "unsupported-media-type",
      });
    }
    return validate(c, next);
  };
  return checked as unknown as JsonBody<S, Optional>;
}

/**
 * Refuses bodies over `maxBytes` with a 413 problem: by their `Content-Length` when they declare
 * one (nearly every client does), otherwise by counting the bytes as they stream in (Hono's
 * `bodyLimit`). Deciding from the header first skips touching the body stream on every request,
 * which measured as 5% of the rate limiter's Worker time per check (bench/src/profile.mjs).
 */
export function limitBody(maxBytes: number): MiddlewareHandler {
  const tooLarge = (): never => {
    throw new ProblemError(413, `The body is larger than ${maxBytes} bytes.`, {
      type: "body-too-large",
      extensions: { maxBytes },
    });
  };
  const streamed = bodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return async (c, next) => {
    const length = c.req.header("content-length");
    const declared = length !== undefined && /^\d+$/.test(length) && c.req.header("transfer-encoding") === undefined;
    if (!declared) return streamed(c, next);
    if (Number(length) > maxBytes) tooLarge();
    await next();
  };
}

/** Requires a WebSocket upgrade request; anything else is a 426 problem. */
export const requireWebSocket: MiddlewareHandler = async (c, next) => {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ProblemError(426, "This route only accepts WebSocket upgrade requests (Upgrade: websocket).", {
      type: "websocket-required",
      headers: { upgrade: "websocket" },
    });
  }
  await next();
};

/**
 * The Worker every app exports: its `api` routes mounted at `/api`, behind one log line per
 * request (`requestLog`, with the object named by the `objectParam` route parameter), with
 * `GET /api/health` answered before any of them (so before body limits, auth or any object), and
 * problem+json for every error and unknown route. Chain more routes on the result (`.get("/demo",
 * ...)`); `typeof` it is what Hono's typed client takes.
 *
 * @example
 * ```ts
 * const api = new Hono<{ Bindings: Env }>().use(limitBody(1024)).get("/counters/:name", ...);
 * const app = apiWorker({ app: "counter", version, objectParam: "name" }, api);
 * export default app satisfies ExportedHandler<Env>;
 * ```
 */
export function apiWorker<E extends HonoEnv, S extends Schema, B extends string>(
  options: { app: string; version: string; objectParam?: string },
  api: Hono<E, S, B>,
) {
  const app = new Hono<E>()
    .use(requestLog(options.app, options.objectParam))
    .get("/api/health", health(options.app, options.version))
    .route("/api", api);
  app.onError(onError);
  app.notFound(notFound);
  return app;
}
