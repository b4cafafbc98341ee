/**
 * What the workflow API accepts and answers. The Worker, the Durable Object, the RPC service and
 * the tests all use these, so the contract is written once.
 */
import { z } from "zod";
import type { StoredError } from "./engine/errors";

/** Instance ids: a letter, digit or `_` first, then up to 63 of letters, digits, `-` and `_`. */
export const INSTANCE_ID_PATTERN = /^[a-zA-Z0-9_][a-zA-Z0-9-_]{0,63}$/;
export const instanceId = z
  .string()
  .regex(INSTANCE_ID_PATTERN, "must be 1 to 64 characters of A-Z, a-z, 0-9, '-' or '_', not starting with '-'");

/** Event types: what `step.waitForEvent({ type })` matches. */
export const eventType = z
  .string()
  .regex(/^[a-zA-Z0-9_.:-]{1,64}$/, "must be 1 to 64 characters of A-Z, a-z, 0-9, '.', ':', '-' or '_'");

/**
 * A JSON value: what params, outputs and payloads are once stored. Deliberately shallow (`{}` is
 * any non-null value): RPC types are computed over it, and a recursive JSON type is too deep for them.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export type JsonValue = {} | null;

/** Largest request body (params of a new instance, payload of an event): 1 MiB of JSON. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Events of one type received but not yet consumed by a wait; more of that type are refused with
 * a 409, unless a wait of the instance is waiting for that type. Per type, so a backlog of one type
 * never blocks the event another wait needs.
 */
export const MAX_PENDING_EVENTS = 1_000;

/** Pending events' payloads larger than this are left out of `GET …/events` (`payloadBytes` tells the size). */
export const MAX_LISTED_PAYLOAD_BYTES = 64 * 1024;

/** An event's id in a path: the positive integer `POST …/events/:type` answered as `eventId`. */
export const eventId = z
  .string()
  .regex(/^[1-9][0-9]{0,14}$/, "must be a positive whole number (the eventId the event was answered with)")
  .transform(Number);

/** A page size in a query string (`limit`): a whole number from 1 to 100. */
const pageLimit = z
  .string()
  .regex(/^[1-9][0-9]{0,2}$/, "must be a whole number from 1 to 100")
  .transform(Number)
  .refine((n) => n <= 100, "must be a whole number from 1 to 100");

/** Query of `GET /api/instances/:id/events`. */
export const EventsQuery = z.strictObject({
  /** Only events of this type. */
  type: eventType.optional(),
  /** The `next` cursor of the previous page. */
  after: z
    .string()
    .regex(/^[a-zA-Z0-9_.:-]{1,64}~[1-9][0-9]{0,14}$/, "must be the next cursor of a previous page")
    .optional(),
  /** Events per page: 1 to 100, default 50. */
  limit: pageLimit.optional(),
});

/** A pending event as `GET /api/instances/:id/events` shows it. */
export interface PendingEvent {
  /** What `DELETE /api/instances/:id/events/:eventId` takes. */
  id: number;
  type: string;
  /** The payload (null when none was sent); omitted when over 64 KiB (see `payloadBytes`). */
  payload?: JsonValue;
  payloadBytes: number;
  receivedAt: string;
  idempotencyKey: string | null;
}

/** A page of pending events: grouped by type, each type in order of receipt. */
export interface EventPage {
  events: PendingEvent[];
  /** Pass as `after` for the next page; null on the last. */
  next: string | null;
}

/** Body of `POST /api/instances` (and each item of `POST /api/instances/batch`). */
export const CreateBody = z.strictObject({
  workflow: z.string().min(1).max(64),
  id: instanceId.optional(),
  params: z.unknown().optional(),
  /**
   * What an id already taken by an instance of the same workflow gives: `"error"` (the default) a
   * 409, `"return"` that instance's `{ id, status }` (200), so a create can be retried safely.
   */
  onConflict: z.enum(["error", "return"]).optional(),
});
export type CreateBody = z.output<typeof CreateBody>;

/** Most items in one `POST /api/instances/batch`. */
export const MAX_BATCH = 100;

/**
 * Body of `POST /api/instances/batch`: up to 100 creates. Items are checked one by one (a bad item
 * refuses only itself), so the list's own shape is all this checks.
 */
export const BatchBody = z.strictObject({ instances: z.array(z.unknown()).min(1).max(MAX_BATCH) });

/** One item's answer in a batch: the instance, or the problem a single create would have answered. */
export type BatchResult =
  { ok: true; id: string; status: InstanceStatus } | { ok: false; status: number; type: string; detail: string };

/**
 * An event's idempotency key: a repeat of a send with the same key (a retry after a lost answer) is
 * answered like the first and stores nothing. Unique per instance.
 */
export const idempotencyKey = z
  .string()
  .regex(/^[a-zA-Z0-9_.:-]{1,128}$/, "must be 1 to 128 characters of A-Z, a-z, 0-9, '.', ':', '-' or '_'");

/** Body of `POST /api/instances/:id/events/:type`; empty means no payload and no key. */
export const EventBody = z.strictObject({ payload: z.unknown().optional(), idempotencyKey: idempotencyKey.optional() });

/** What `POST /api/instances/:id/events/:type` answers (202): the instance, and the event's id. */
export interface EventAnswer extends InstanceSummary {
  /** The event's id, for `DELETE /api/instances/:id/events/:eventId`. */
  eventId: number;
}

/** A step call: the `count`-th call (1-based) of step `name` in a run, the step whose key is `name#count`. */
export const StepCall = z.strictObject({
  name: z.string().min(1).max(256),
  count: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
});
export type StepCall = z.output<typeof StepCall>;

/** Body of `POST /api/instances/:id/restart`; empty means from the first step. */
export const RestartBody = z.strictObject({
  /**
   * Restart from this step: a name (its first call) or `{ name, count }` (its count-th call).
   * Steps that started before it keep their results.
   */
  from: z.union([z.string().min(1).max(256), StepCall]).optional(),
});

/** Where an instance is in its life: every status, in the order counts list them. */
export const INSTANCE_STATUSES = [
  "queued",
  "running",
  "paused",
  "waiting",
  "errored",
  "terminated",
  "complete",
] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

/** Statuses an instance leaves only by a restart: it can be deleted, and its retention runs. */
export const FINAL_STATUSES = ["complete", "errored", "terminated"] as const satisfies readonly InstanceStatus[];
export type FinalStatus = (typeof FINAL_STATUSES)[number];

/** Whether an instance in `status` is over (see {@link FINAL_STATUSES}). */
export function isFinal(status: InstanceStatus): status is FinalStatus {
  return (FINAL_STATUSES as readonly InstanceStatus[]).includes(status);
}

/** The filters of `GET /api/instances`; any other query parameter is a 422. */
export const LIST_FILTERS = ["workflow", "status", "limit", "cursor"] as const;

/** Where a page of the index starts: after the entry created at `createdAt` (ms) with this `id`, newest first. */
export interface IndexCursor {
  createdAt: number;
  id: string;
}

/** The opaque `next` of a page of instances: base64url of `[createdAt, id]`. */
export function encodeCursor(cursor: IndexCursor): string {
  const bytes = new TextEncoder().encode(JSON.stringify([cursor.createdAt, cursor.id]));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** The cursor `encodeCursor` made, or null for anything else. */
export function decodeCursor(text: string): IndexCursor | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(text)) return null;
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    const value: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
    if (!Array.isArray(value) || value.length !== 2) return null;
    const [createdAt, id] = value as [unknown, unknown];
    if (!Number.isSafeInteger(createdAt) || typeof id !== "string" || !INSTANCE_ID_PATTERN.test(id)) return null;
    return { createdAt: createdAt as number, id };
  } catch {
    return null;
  }
}

/** Query of `GET /api/instances` once its keys are known to be filters (see {@link LIST_FILTERS}). */
export const ListQuery = z.strictObject({
  /** Only instances of this workflow (a registered one: checked by the route). */
  workflow: z.string().min(1).max(64).optional(),
  /** Only instances in this status. */
  status: z.enum(INSTANCE_STATUSES).optional(),
  /** Instances per page: 1 to 100, default 50. */
  limit: pageLimit.optional(),
  /** The `next` of the previous page. */
  cursor: z
    .string()
    .transform((text, ctx) => {
      const cursor = decodeCursor(text);
      if (!cursor) ctx.addIssue({ code: "custom", message: "must be the next of a previous page" });
      return cursor ?? z.NEVER;
    })
    .optional(),
});
export type ListQuery = z.output<typeof ListQuery>;

/** An instance as `GET /api/instances` lists it. Times are ISO 8601. */
export interface ListedInstance {
  id: string;
  workflow: string;
  status: InstanceStatus;
  createdAt: string;
  updatedAt: string;
}

/** A page of instances, newest first. */
export interface InstancePage {
  instances: ListedInstance[];
  /** Pass as `cursor` for the next page; null on the last. */
  next: string | null;
}

/** How many instances of a workflow are in each status (every status present, zeros included). */
export type StatusCounts = Record<InstanceStatus, number>;

/** A workflow as `GET /api/workflows` shows it. */
export interface WorkflowSummary {
  name: string;
  counts: StatusCounts;
}

/**
 * Statuses in which an instance has a run task pending and runs by itself. The runner uses the
 * list in TypeScript and in SQL, so the two cannot drift apart.
 */
export const ACTIVE_STATUSES = ["queued", "running", "waiting"] as const satisfies readonly InstanceStatus[];

/** Whether an instance in `status` runs by itself (see {@link ACTIVE_STATUSES}). */
export function isActive(status: InstanceStatus): boolean {
  return (ACTIVE_STATUSES as readonly InstanceStatus[]).includes(status);
}

/** What kind of call recorded a step. */
export type StepKind = "do" | "sleep" | "wait" | "undo";

/** Where a step is. `retrying` waits for its next attempt; `sleeping` and `waiting` for time or an event. */
export type StepStatus = "running" | "retrying" | "sleeping" | "waiting" | "complete" | "errored";

/** A step as the API shows it. Times are ISO 8601. */
export interface StepView {
  /** The order in which the step first started (0 first). Replays match calls by `key`, not by this. */
  position: number;
  name: string;
  /** `name#n` for the n-th call of that name: the cache key. */
  key: string;
  kind: StepKind;
  status: StepStatus;
  attempts: number;
  startedAt: string;
  finishedAt: string | null;
  /** When a sleeping step wakes, a retry runs or a wait times out. */
  wakeAt: string | null;
  /** The stored result; omitted for outputs over 64 KiB (see `outputBytes`). */
  output?: JsonValue;
  outputBytes: number | null;
  error: StoredError | null;
}

/** An instance's error: why it failed, and which undos failed in turn. */
export interface InstanceError extends StoredError {
  compensationErrors?: { step: string; error: StoredError }[];
}

/** An instance as the API shows it. */
export interface InstanceView {
  id: string;
  workflow: string;
  status: InstanceStatus;
  params: JsonValue;
  output: JsonValue;
  error: InstanceError | null;
  createdAt: string;
  updatedAt: string;
  steps: StepView[];
}

/** The short answer of lifecycle calls. */
export interface InstanceSummary {
  id: string;
  status: InstanceStatus;
}

/** Messages the server sends over `GET /api/instances/:id/websocket`. */
export type ServerMessage =
  { type: "status"; id: string; status: InstanceStatus } | { type: "step"; id: string; step: Omit<StepView, "output"> };
