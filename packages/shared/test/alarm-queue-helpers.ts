import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import type { AlarmFixture } from "./fixtures/alarm-fixture";

/** The fixture clock's start: 2026-01-01T00:00:00Z. Queue times in tests are offsets from it. */
export const T0 = Date.UTC(2026, 0, 1);
export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;

/** A fresh AlarmFixture per test: alarms and storage are not reset between tests. */
export function fixture(name: string) {
  return env.ALARM_FIXTURE.getByName(`${name}-${crypto.randomUUID()}`);
}

/**
 * Runs alarms until no task is pending. Once a batch leaves due tasks behind, the queue re-arms for
 * "now" and the runtime may start that alarm by itself before we do; either way each run is logged
 * by the fixture, so tests assert on its run log, not on who started a run.
 */
export async function drain(stub: ReturnType<typeof fixture>, maxCalls = 1_000): Promise<void> {
  for (let call = 0; call < maxCalls && (await stub.pending()) > 0; call++) {
    await runDurableObjectAlarm(stub);
  }
}

/**
 * Invokes the object's alarm as the platform does when it retries a failed one: with
 * `retryCount` (the vitest helper `runDurableObjectAlarm` passes no retry information).
 */
export async function retryAlarm(stub: ReturnType<typeof fixture>, retryCount: number): Promise<unknown> {
  return runInDurableObject(stub, (instance: AlarmFixture) => instance.alarm({ retryCount })).then(
    () => null,
    (error: unknown) => error,
  );
}
