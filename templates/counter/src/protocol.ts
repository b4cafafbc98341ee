/**
 * What the counter's HTTP routes and WebSocket accept and send. The Worker, the Durable Object,
 * the typed client and the web page all use these, so the contract is written once.
 */
import { z } from "zod";

/** Counters hold JavaScript's safe integers, so every value survives JSON and `number` exactly. */
export const MAX_VALUE = Number.MAX_SAFE_INTEGER;

/** A step for increment/decrement: a positive safe integer. */
export const step = z.int().min(1, "must be at least 1").max(MAX_VALUE);

/** Body of `POST .../increment` and `.../decrement`; empty means `{ "by": 1 }`. */
export const ChangeBody = z.strictObject({ by: step.default(1) });

/** Body of `PUT /api/counters/:name`. */
export const SetBody = z.strictObject({ value: z.int().min(-MAX_VALUE).max(MAX_VALUE) });

/** The most scheduled resets one counter may have. */
export const MAX_SCHEDULES = 10;

/**
 * Body of `POST /api/counters/:name/schedule`: reset to `value` (default 0) on a cron pattern in
 * an IANA time zone (default UTC). Patterns have five fields (minute granularity) or are a
 * nickname such as `@daily`: a seconds field would wake the object every second.
 */
export const ScheduleBody = z.strictObject({
  cron: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .refine((cron) => cron.startsWith("@") || cron.split(/\s+/).length === 5, {
      message: "must have 5 fields (minute hour day-of-month month day-of-week) or be a nickname like @daily",
    }),
  timezone: z.string().min(1).max(64).default("UTC"),
  value: z.int().min(-MAX_VALUE).max(MAX_VALUE).default(0),
});
export type ScheduleBody = z.output<typeof ScheduleBody>;

/** A scheduled reset as the API shows it. `next` is the next fire time, ISO 8601 UTC. */
export interface Schedule {
  id: number;
  cron: string;
  timezone: string;
  value: number;
  next: string;
}

/** Messages a client may send over the WebSocket. */
export const ClientMessage = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("increment"), by: step.default(1) }),
  z.strictObject({ type: z.literal("decrement"), by: step.default(1) }),
]);
export type ClientMessage = z.output<typeof ClientMessage>;
/** The `type`s above, read from the schema so the two cannot drift apart (a frame of another type is closed 1003). */
export const CLIENT_MESSAGE_TYPES = ClientMessage.options.map((option) => option.shape.type.value);

/** The largest WebSocket frame a client may send; the longest valid message is ~50 bytes. */
export const MAX_FRAME_BYTES = 1024;

/** Messages the server sends over the WebSocket. */
export type ServerMessage =
  | { type: "value"; value: number }
  | { type: "error"; code: string; detail: string; errors?: { path: string; message: string }[] };
