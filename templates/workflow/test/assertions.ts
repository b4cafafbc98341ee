/**
 * Shorthands for what most workflow tests do after driving an instance: run it, read it back, and
 * assert its status, its error and its step list, so that each test reads as one sentence per step.
 */
import { expect } from "vitest";
import type { InstanceError, InstanceView, StepStatus } from "../src/protocol";
import { instance, run, runAt } from "./helpers";

/**
 * Fires the instance's alarm once, first moving its clock to `at` when given, and returns the
 * instance as that run left it: complete, failed or suspended.
 */
export async function runUntilSettled(id: string, at?: number): Promise<InstanceView> {
  await (at === undefined ? run(id) : runAt(id, at));
  return instance(id);
}

/**
 * Asserts that the instance failed: with exactly `error`, or, given a name alone, with an error of
 * that name.
 */
export function expectErrored(view: InstanceView, error: InstanceError | string): void {
  expect(view.status).toBe("errored");
  if (typeof error === "string") expect(view.error!.name).toBe(error);
  else expect(view.error).toEqual(error);
}

/** Asserts the instance's whole step list, in order, each step as `"<name>: <status>"`. */
export function expectSteps(view: InstanceView, steps: `${string}: ${StepStatus}`[]): void {
  expect(view.steps.map((s) => `${s.name}: ${s.status}`)).toEqual(steps);
}
