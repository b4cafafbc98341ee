/**
 * The shipped order workflow (src/workflows/order.ts): reserve, charge, wait for approval, ship;
 * on failure the undos of completed steps run newest first (saga).
 */
import { describe, expect, it } from "vitest";
import { expectErrored, expectSteps, runUntilSettled } from "./assertions";
import { T0, run, sendEvent, start } from "./helpers";
import { count } from "./workflows";

describe("order workflow", () => {
  it("ships an approved order", async () => {
    const id = await start("order", { orderId: "o-1", amount: 25 });
    let view = await runUntilSettled(id);
    expect(view.status).toBe("waiting");
    expectSteps(view, ["reserve stock: complete", "charge card: complete", "wait for approval: waiting"]);
    await sendEvent(id, "approval", { approved: true, by: "ada" });
    view = await runUntilSettled(id);
    expect(view.status).toBe("complete");
    expect(view.output).toEqual({ reservation: "rsv-o-1", charge: "ch-o-1", tracking: "trk-o-1" });
  });

  it("refunds and releases the stock, newest first, when the approver rejects", async () => {
    const id = await start("order", { orderId: "o-2", amount: 40 });
    await run(id);
    await sendEvent(id, "approval", { approved: false, by: "bob" });
    const view = await runUntilSettled(id);
    expectErrored(view, { name: "NonRetryableError", message: "order rejected by bob" });
    expect(view.steps.map((s) => [s.kind, s.name, s.status, s.output])).toEqual([
      ["do", "reserve stock", "complete", { reservationId: "rsv-o-2" }],
      ["do", "charge card", "complete", { chargeId: "ch-o-2", amount: 40 }],
      [
        "wait",
        "wait for approval",
        "complete",
        { type: "approval", payload: { approved: false, by: "bob" }, timestamp: new Date(T0).toISOString() },
      ],
      ["undo", "undo charge card", "complete", { refunded: "ch-o-2", amount: 40 }],
      ["undo", "undo reserve stock", "complete", { released: "rsv-o-2" }],
    ]);
  });

  it("releases only the stock when the card is declined: the failed charge has nothing to undo", async () => {
    const id = await start("order", { orderId: "o-3", amount: 10, simulate: "decline-card" });
    const view = await runUntilSettled(id);
    expectErrored(view, {
      name: "StepFailedError",
      message: 'Step "charge card" failed after 1 attempt: NonRetryableError: card declined',
    });
    expectSteps(view, ["reserve stock: complete", "charge card: errored", "undo reserve stock: complete"]);
  });

  it("compensates when no approval comes within a day", async () => {
    const id = await start("order", { orderId: "o-4", amount: 10 });
    await run(id);
    const view = await runUntilSettled(id, T0 + 86_400_000);
    expectErrored(view, "WaitTimeoutError");
    expect(view.steps.map((s) => s.name).slice(-2)).toEqual(["undo charge card", "undo reserve stock"]);
  });
});

describe("compensations that fail", () => {
  it("runs the other undos and lists the failed one in the instance's error", async () => {
    const id = await start("test-failing-undo");
    const view = await runUntilSettled(id);
    expectErrored(view, {
      name: "Error",
      message: "the conference was cancelled",
      compensationErrors: [
        {
          step: "book flight",
          error: {
            name: "StepFailedError",
            message: 'Step "undo book flight" failed after 1 attempt: NonRetryableError: the airline refuses refunds',
          },
        },
      ],
    });
    // Newest first: the hotel was undone before the flight was tried.
    expectSteps(view, [
      "book flight: complete",
      "book hotel: complete",
      "undo book hotel: complete",
      "undo book flight: errored",
    ]);
    expect([count(id, "undo hotel"), count(id, "undo flight")]).toEqual([1, 1]);
  });
});

describe("undo results", () => {
  it("completes an undo whose result JSON cannot carry, once, dropping the result", async () => {
    const id = await start("test-undo-returns-map");
    const view = await runUntilSettled(id);
    expectErrored(view, { name: "Error", message: "cancelled" });
    expect(view.steps.map((s) => [s.name, s.status, s.attempts])).toEqual([
      ["book", "complete", 1],
      ["undo book", "complete", 1],
    ]);
    expect(count(id, "undo book")).toBe(1);
  });
});
