/**
 * Concurrent interleavings in one room, ordered by fast-check's scheduler: members joining and
 * leaving, messages (some with a clientId, some resent with it), the room's alarm (first runs and
 * retries), the room's clock moving past the idle deadline or stepping back, and a deleteAll()
 * that throws once. In up to 6 rounds of up to 4 operations, the scheduler decides in which order
 * a round's operations start; they then run concurrently (each member's own operations one after
 * the other, as one client sends them, and the alarms one after the other, as the platform runs
 * them).
 *
 * `fcRuns` cases with the seed `fcSeed`; replay a failure with
 * `FC_SEED=<seed> FC_RUNS=<runs> pnpm --filter chat-room test test/interleavings.test.ts`.
 */
import { runInDurableObject } from "cloudflare:test";
import * as hostile from "../src/shared/hostile-input";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ChatRoom } from "../src/chat-room-object";
import { IDLE_PURGE_MS, MAX_RATE_WARNINGS, PURGE_RETRY_MS, type ChatMessage } from "../src/protocol";
import { api, type Client, join, roomStub, tuneRoom, uniqueRoom } from "./helpers";

const MINUTE = 60_000;
const INJECTED = "injected: deleteAll failed";
const MEMBERS = ["Ada", "Bob", "Cy"] as const;

const { runs, seed, figures } = hostile.propertyRuns("interleavings", {
  cases: 0,
  operations: 0,
  acknowledged: 0,
  resendsAnswered: 0,
  rateLimited: 0,
  alarms: 0,
  failedDeletes: 0,
  purgesSeen: 0,
  clockStepsBack: 0,
});

/** Rooms whose next deleteAll() throws (once); read by the wrapper `tune` installs. */
const faults = new Set<string>();
/** Each room's clock (epoch ms), read live by the room object. */
const clocks = new Map<string, number>();
/** The epoch each room was left in by the case before (recreated by its last join, then left empty). */
const epochs = new Map<string, string>();

/** Makes the room read its clock from `clocks` and, once per storage, wraps its deleteAll() with the fault. */
function tune(room: string): Promise<void> {
  return tuneRoom(
    room,
    () => clocks.get(room)!,
    () => faults.delete(room),
    INJECTED,
  );
}

/** The platform calling alarm(). Resolves with whether it failed (only the injected fault may make it fail). */
async function fireAlarm(room: string, retryCount: number): Promise<boolean> {
  try {
    await runInDurableObject(roomStub(room), (instance: ChatRoom) =>
      instance.alarm({ retryCount, isRetry: retryCount > 0, scheduledTime: Date.now() }),
    );
    return false;
  } catch (error) {
    expect(error instanceof Error ? error.message : error).toBe(INJECTED);
    return true;
  }
}

async function historyOf(room: string): Promise<ChatMessage[]> {
  const response = await api(`/api/rooms/${room}/messages?limit=100`);
  return ((await response.json()) as { messages: ChatMessage[] }).messages.reverse();
}

/** Rooms from a small pool: workerd keeps every live object's SQLite files open (see test/reliability.test.ts). */
const rooms = Array.from({ length: 16 }, () => uniqueRoom("interleave"));
let nextRoom = 0;

const member = fc.nat({ max: MEMBERS.length - 1 });
const op = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("join"), member }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("leave"), member }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("say"), member, withClientId: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("resend"), member, back: fc.nat({ max: 2 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("alarm"), retryCount: fc.nat({ max: 2 }) }) },
  {
    weight: 2,
    // Past the purge retry, past the idle deadline. At most 24 steps of 45 minutes stay within the
    // 24 h in which a clientId is remembered, so every resend in one epoch must be deduplicated.
    arbitrary: fc.record({
      kind: fc.constant("forward"),
      ms: fc.constantFrom(PURGE_RETRY_MS, IDLE_PURGE_MS + MINUTE, IDLE_PURGE_MS + 15 * MINUTE),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("back"), ms: fc.integer({ min: 1, max: 40 * MINUTE }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("fault") }) },
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

/** A message as its sender saw it acknowledged, with the epoch of the sender's connection. */
interface Ack {
  message: ChatMessage;
  epoch: string;
  /** The occupancy generation it was acknowledged in: the room was never empty since iff it is still the current one. */
  generation: number;
}

interface Member {
  name: string;
  client: Client | null;
  epoch: string;
  /** Rate-limit warnings this connection got: one more refusal than MAX_RATE_WARNINGS closes it. */
  warnings: number;
  /** This member's messages sent with a clientId: resent with the same text and clientId. */
  sent: { text: string; clientId: string }[];
  /** Each member's operations run one after the other, as one client would send them. */
  chain: Promise<void>;
}

describe("interleavings", () => {
  it("keeps every acknowledged message while anyone is in the room, whatever the order of joins, messages, resends, purges and clock steps", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.array(op, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6, size: "max" }),
        async (s, rounds) => {
          const room = rooms[nextRoom++ % rooms.length]!;
          faults.delete(room);
          // A day after anything an earlier case did to this room: whatever it left is due.
          clocks.set(room, Math.max(clocks.get(room) ?? 0, Date.now()) + 24 * 60 * MINUTE);
          let highest = clocks.get(room)!;
          await tune(room);
          figures.cases++;

          // The model. Who is in: a member counts from its welcome until it starts to leave (the
          // room sees it for longer), so "someone was in the room" here implies it for the room.
          const members: Member[] = MEMBERS.map((name) => ({
            name,
            client: null,
            epoch: "",
            warnings: 0,
            sent: [],
            chain: Promise.resolve(),
          }));
          let occupancy = 0;
          let generation = 0;
          const acks: Ack[] = [];
          /** clientId → the message stored for it, per epoch: a resend in that epoch must get it back. */
          const stored = new Map<string, ChatMessage>();
          let texts = 0;
          let knownEpoch = epochs.get(room);
          let alarms = Promise.resolve();

          const enter = async (m: Member) => {
            const { client, welcome } = await join(room, { name: m.name });
            // Whoever is in the room has been since before this welcome: the same life of the room.
            for (const other of members) if (other.client) expect(welcome.epoch).toBe(other.epoch);
            if (knownEpoch !== undefined && welcome.epoch !== knownEpoch) figures.purgesSeen++;
            knownEpoch = welcome.epoch;
            m.client = client;
            m.epoch = welcome.epoch;
            m.warnings = 0;
            occupancy++;
          };
          const leave = async (m: Member) => {
            const client = m.client!;
            m.client = null;
            occupancy--;
            if (occupancy === 0) generation++;
            await client.close();
          };
          /** Sends a message and waits for its answer: the message (stored or the original) or a rate-limit warning. */
          const send = async (m: Member, text: string, clientId?: string) => {
            if (!m.client) await enter(m);
            // One more refusal than the warnings allowed would close the connection, an exit the
            // model does not track; such a member stays quiet instead.
            if (m.warnings >= MAX_RATE_WARNINGS) return;
            const client = m.client!;
            client.send(clientId === undefined ? { type: "message", text } : { type: "message", text, clientId });
            for (;;) {
              const answer = (await Promise.race([client.next(), client.closed.then(() => null)])) as
                ({ type: string; code?: string } & Partial<ChatMessage>) | null;
              expect(answer, "the connection closed while sending").not.toBeNull();
              if (answer!.type === "error") {
                expect(answer).toMatchObject({ code: "rate_limited" });
                m.warnings++;
                figures.rateLimited++;
                return;
              }
              if (answer!.type !== "message" || answer!.text !== text) continue; // another member's message, a join
              const { type: _, ...message } = answer as { type: "message" } & ChatMessage;
              expect(message.clientId).toBe(clientId);
              const key = `${m.epoch}/${clientId}`;
              const original = clientId === undefined ? undefined : stored.get(key);
              if (original) {
                // A resend in the epoch its original was stored in: answered with the original.
                expect(message).toEqual(original);
                figures.resendsAnswered++;
              } else {
                if (clientId !== undefined) stored.set(key, message);
                acks.push({ message, epoch: m.epoch, generation });
                figures.acknowledged++;
              }
              return;
            }
          };

          const run = async (o: Op): Promise<void> => {
            figures.operations++;
            switch (o.kind) {
              case "join": {
                const m = members[o.member]!;
                if (!m.client) await enter(m);
                return;
              }
              case "leave": {
                const m = members[o.member]!;
                if (m.client) await leave(m);
                return;
              }
              case "say": {
                const m = members[o.member]!;
                const text = `${m.name} ${++texts}`;
                if (!o.withClientId) return send(m, text);
                const clientId = `${m.name}-${texts}`;
                m.sent.push({ text, clientId });
                return send(m, text, clientId);
              }
              case "resend": {
                const m = members[o.member]!;
                const earlier = m.sent.at(-1 - Math.min(o.back, m.sent.length - 1));
                if (earlier) await send(m, earlier.text, earlier.clientId);
                return;
              }
              case "alarm":
                figures.alarms++;
                if (await fireAlarm(room, o.retryCount)) figures.failedDeletes++;
                return;
              case "forward":
                clocks.set(room, clocks.get(room)! + o.ms);
                highest = Math.max(highest, clocks.get(room)!);
                return;
              case "back":
                figures.clockStepsBack++;
                clocks.set(room, clocks.get(room)! - o.ms);
                return;
              case "fault":
                faults.add(room);
                return;
            }
          };

          // Round after round; in each, the scheduler decides the order in which the operations
          // start, and then they run together.
          for (const [r, ops] of rounds.entries()) {
            const started = ops.map((o, i) =>
              s.schedule(Promise.resolve(`${r}.${i} ${JSON.stringify(o)}`)).then(() => {
                if (o.kind === "alarm") {
                  alarms = alarms.then(() => run(o));
                  return alarms;
                }
                if ("member" in o) {
                  const m = members[o.member]!;
                  m.chain = m.chain.then(() => run(o));
                  return m.chain;
                }
                return run(o);
              }),
            );
            await s.waitAll();
            await Promise.all(started);
          }

          // With someone in the room (one joins if nobody is), nothing can be purged: compare.
          if (occupancy === 0) await enter(members[0]!);
          const inRoom = members.filter((m) => m.client);
          const epoch = inRoom[0]!.epoch;
          // Everyone in the room joined since it was last empty: nobody can have seen another epoch.
          for (const m of inRoom) expect(m.epoch).toBe(epoch);
          // Every message acknowledged since the room was last empty is in this epoch.
          for (const ack of acks) if (ack.generation === generation) expect(ack.epoch).toBe(epoch);
          // The history is exactly the messages acknowledged in this epoch, each once, in id order.
          const history = await historyOf(room);
          const expected = acks
            .filter((ack) => ack.epoch === epoch)
            .map((ack) => ack.message)
            .sort((a, b) => a.id - b.id);
          expect(history).toEqual(expected);
          const clientIds = history.flatMap((message) => message.clientId ?? []);
          expect(new Set(clientIds).size).toBe(clientIds.length);

          // Everyone leaves; hours later the room is purged, on the platform's retry if the
          // deleteAll() fault is still armed.
          for (const m of inRoom) await leave(m);
          clocks.set(room, highest + 4 * IDLE_PURGE_MS);
          if (await fireAlarm(room, 0)) {
            figures.failedDeletes++;
            expect(await fireAlarm(room, 1)).toBe(false);
          }
          expect(faults.has(room)).toBe(false);
          const after = await join(room, { name: "Ada", after: 0, epoch });
          expect(after.welcome).toMatchObject({ reset: true, history: [] });
          epochs.set(room, after.welcome.epoch);
          await after.client.close();
        },
      ),
      { numRuns: runs, seed },
    );
    // Meaningful only if purges happened and failed during the interleavings.
    expect(figures.failedDeletes).toBeGreaterThan(0);
    expect(figures.purgesSeen).toBeGreaterThan(0);
    expect(figures.resendsAnswered).toBeGreaterThan(0);
  });
});
