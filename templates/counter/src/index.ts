/**
 * The counter Worker: validates every request, then forwards it to the Counter object named in
 * the path. Static files in public/ (the web page) are served before this code runs.
 */
import { Hono } from "hono";
import { z } from "zod";
import {
  AlarmQueueError,
  apiWorker,
  jsonBody,
  limitBody,
  nextCronTime,
  objectName,
  params,
  pickShard,
  ProblemError,
  requireWebSocket,
  shardName,
  shardNames,
  taskId,
} from "./shared";
import { version } from "../package.json";
import type { ChangeResult } from "./counter-object";
import { ChangeBody, ScheduleBody, SetBody } from "./protocol";
import { shardCount, shardLimit } from "./sharding";

export { Counter } from "./counter-object";

const named = params(z.object({ name: objectName }));
const namedSchedule = params(z.object({ name: objectName, id: taskId }));

/** Refuses a pattern or time zone that cannot fire, before any object is touched. */
function checkSchedule({ cron, timezone }: ScheduleBody): void {
  let next: number | null;
  try {
    next = nextCronTime(cron, timezone, Date.now());
  } catch (error) {
    if (!(error instanceof AlarmQueueError)) throw error;
    throw new ProblemError(422, error.message, { type: "invalid-schedule" });
  }
  if (next === null) {
    throw new ProblemError(422, `"${cron}" never fires again.`, { type: "invalid-schedule" });
  }
}

function counter(env: Env, name: string) {
  return env.COUNTER.getByName(name);
}

function changed(name: string, result: ChangeResult) {
  if (result.ok) return { name, value: result.value };
  throw new ProblemError(422, `The change would take "${name}" beyond ±${result.limit}; it stays at ${result.value}.`, {
    type: "out-of-range",
    extensions: { name, value: result.value, limit: result.limit },
  });
}

const api = new Hono<{ Bindings: Env }>()
  // Every body this API accepts is a few bytes; refuse anything larger before reading it.
  .use(limitBody(1024))
  .get("/counters/:name", named, async (c) => {
    const { name } = c.req.valid("param");
    return c.json({ name, value: await counter(c.env, name).value() });
  })
  .post("/counters/:name/increment", named, jsonBody(ChangeBody, { optional: true }), async (c) => {
    const { name } = c.req.valid("param");
    const { by } = c.req.valid("json");
    return c.json(changed(name, await counter(c.env, name).add(by)));
  })
  .post("/counters/:name/decrement", named, jsonBody(ChangeBody, { optional: true }), async (c) => {
    const { name } = c.req.valid("param");
    const { by } = c.req.valid("json");
    return c.json(changed(name, await counter(c.env, name).add(-by)));
  })
  .put("/counters/:name", named, jsonBody(SetBody), async (c) => {
    const { name } = c.req.valid("param");
    const { value } = c.req.valid("json");
    return c.json({ name, value: await counter(c.env, name).set(value) });
  })
  .delete("/counters/:name", named, async (c) => {
    const { name } = c.req.valid("param");
    return c.json({ name, value: await counter(c.env, name).reset() });
  })
  .get("/counters/:name/websocket", named, requireWebSocket, async (c) => {
    const { name } = c.req.valid("param");
    return counter(c.env, name).fetch(c.req.raw);
  })
  .post("/counters/:name/schedule", named, jsonBody(ScheduleBody), async (c) => {
    const { name } = c.req.valid("param");
    const schedule = c.req.valid("json");
    checkSchedule(schedule);
    const result = await counter(c.env, name).addSchedule(schedule);
    if (!result.ok) {
      throw new ProblemError(409, `"${name}" already has ${result.limit} schedules; cancel one first.`, {
        type: "too-many-schedules",
        extensions: { limit: result.limit },
      });
    }
    return c.json({ name, ...result.schedule }, 201);
  })
  .get("/counters/:name/schedule", named, async (c) => {
    const { name } = c.req.valid("param");
    return c.json({ name, schedules: await counter(c.env, name).schedules() });
  })
  .delete("/counters/:name/schedule/:id", namedSchedule, async (c) => {
    const { name, id } = c.req.valid("param");
    if (!(await counter(c.env, name).cancelSchedule(id))) {
      throw new ProblemError(404, `"${name}" has no schedule ${id}.`, { type: "no-such-schedule" });
    }
    return c.body(null, 204);
  })
  .get("/sharded-counters/:name", named, async (c) => {
    const { name } = c.req.valid("param");
    const shards = shardCount(c.env.COUNTER_SHARDS);
    const values = await Promise.all(shardNames(name, shards).map((shard) => counter(c.env, shard).value()));
    return c.json({ name, value: values.reduce((sum, value) => sum + value, 0), shards });
  })
  .post("/sharded-counters/:name/increment", named, jsonBody(ChangeBody, { optional: true }), async (c) => {
    const { name } = c.req.valid("param");
    const { by } = c.req.valid("json");
    return c.json(await changeShard(c.env, name, by));
  })
  .post("/sharded-counters/:name/decrement", named, jsonBody(ChangeBody, { optional: true }), async (c) => {
    const { name } = c.req.valid("param");
    const { by } = c.req.valid("json");
    return c.json(await changeShard(c.env, name, -by));
  });

/** Applies a change to one random shard. Answers with the shard's own value, not the total. */
async function changeShard(env: Env, name: string, delta: number) {
  const shards = shardCount(env.COUNTER_SHARDS);
  const shard = pickShard(shards);
  const result = await counter(env, shardName(name, shard)).add(delta, shardLimit(shards));
  if (!result.ok) changed(name, result);
  return { name, shard, shardValue: result.value, shards };
}

const app = apiWorker({ app: "counter", version, objectParam: "name" }, api);

/** The API's route types, for Hono's typed client `hc<CounterApi>(url)`. */
export type CounterApi = typeof app;

export default app satisfies ExportedHandler<Env>;
