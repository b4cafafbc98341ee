import rule from "../src/rules/set-alarm-only-in-alarm-queue.js";
import { ruleTester } from "./rule-tester.ts";

const scattered = `
  import { DurableObject } from "cloudflare:workers";
  export class Session extends DurableObject {
    async touch() { await this.ctx.storage.setAlarm(Date.now() + 30 * 60_000); }
    async logout() { await this.ctx.storage.deleteAlarm(); }
  }`;

ruleTester.run("set-alarm-only-in-alarm-queue", rule, {
  valid: [
    {
      name: "allows the alarm queue module itself to arm the alarm",
      filename: "packages/shared/src/alarm-queue.ts",
      code: `export class AlarmQueue { arm(next: number) { void this.storage.setAlarm(next); } }`,
    },
    {
      name: "allows files inside an alarm-queue folder",
      filename: "src/alarm-queue/arm.ts",
      code: `export function arm(storage: DurableObjectStorage, at: number) { return storage.setAlarm(at); }`,
    },
    {
      name: "allows reading the alarm anywhere",
      filename: "src/session-object.ts",
      code: `export async function due(storage: DurableObjectStorage) { return storage.getAlarm(); }`,
    },
    {
      name: "allows files listed in the allowedFiles option",
      filename: "src/scheduler/arm-alarm.ts",
      options: [{ allowedFiles: ["src/scheduler/**"] }],
      code: scattered,
    },
  ],
  invalid: [
    {
      name: "reports a session timeout that sets and deletes the alarm in the object",
      filename: "src/session-object.ts",
      code: scattered,
      errors: [
        { messageId: "scattered", data: { method: "setAlarm", allowed: "**/alarm-queue*, **/alarm-queue/**" } },
        { messageId: "scattered", data: { method: "deleteAlarm", allowed: "**/alarm-queue*, **/alarm-queue/**" } },
      ],
    },
    {
      name: "reports setAlarm inside a storage transaction",
      filename: "src/index.ts",
      code: `await this.ctx.storage.transaction(async (txn) => { await txn.put("due", at); await txn.setAlarm(at); });`,
      errors: [{ messageId: "scattered" }],
    },
    {
      name: "reports the default locations once allowedFiles names others",
      filename: "packages/shared/src/alarm-queue.ts",
      options: [{ allowedFiles: ["src/scheduler/**"] }],
      code: `void this.storage.setAlarm(next);`,
      errors: [{ messageId: "scattered", data: { method: "setAlarm", allowed: "src/scheduler/**" } }],
    },
  ],
});
