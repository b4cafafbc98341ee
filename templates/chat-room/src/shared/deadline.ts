// Vendored from durable-patterns packages/shared/src/deadline.ts by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
/**
 * A deadline for work in progress. `withDeadline(work, ms, controller, onTimeout)` settles as
 * `work` does, or, once `ms` have passed, aborts `controller` with `onTimeout()` and rejects with
 * that error without waiting for the work any longer (its late result is ignored). The timer is
 * cleared as soon as either happens, so it never keeps an object awake.
 *
 * A guard on something already running (a request, an alarm's handler), never a way to schedule
 * work: if the object dies, the timer dies with it, and whatever must still happen is the alarm
 * queue's to run again.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * const text = await withDeadline(
 *   fetch(url, { signal: controller.signal }).then((response) => response.text()),
 *   5_000,
 *   controller,
 *   () => new Error("the upstream took more than 5 s"),
 * );
 * ```
 */
export async function withDeadline<T>(
  work: PromiseLike<T>,
  ms: number,
  controller: AbortController,
  onTimeout: () => Error,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = onTimeout();
      controller.abort(error);
      reject(error);
    }, ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    // The Workers types take number | null: clear only a timer that was set.
    if (timer !== undefined) clearTimeout(timer);
  }
}
