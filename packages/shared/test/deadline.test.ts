import { describe, expect, it } from "vitest";
import { withDeadline } from "../src";

describe("withDeadline", () => {
  it("settles as the work does when it finishes in time, and leaves its signal alone", async () => {
    const controller = new AbortController();
    await expect(withDeadline(Promise.resolve(42), 1_000, controller, () => new Error("late"))).resolves.toBe(42);
    await expect(
      withDeadline(Promise.reject(new Error("failed itself")), 1_000, controller, () => new Error("late")),
    ).rejects.toThrow("failed itself");
    expect(controller.signal.aborted).toBe(false);
  });

  it("rejects with the timeout error once the time is up, and aborts the signal with it", async () => {
    const controller = new AbortController();
    const never = new Promise<number>(() => {});
    const error = await withDeadline(never, 20, controller, () => new Error("took over 20 ms")).catch(
      (thrown: unknown) => thrown,
    );
    expect(String(error)).toBe("Error: took over 20 ms");
    expect(controller.signal.aborted).toBe(true);
    expect(controller.signal.reason).toBe(error);
  });
});
