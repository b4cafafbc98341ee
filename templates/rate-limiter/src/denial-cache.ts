/**
 * Denials remembered in the isolate, so a key that is refused is not asked about again until it
 * could be admitted: an abuser hammering a blocked key costs a Map lookup, not a call to its
 * object. Bounded (least recently used first out), per isolate, and never admitting: it only ever
 * answers a refusal, and only one the object would also give.
 *
 * Why a remembered denial is one the object would give, until `until`:
 *
 * - A refusal of cost `c` means some enforced policy lacks `c` units; it stays refused at least
 *   until every refusing policy's `retryAfter` has passed, and a larger cost waits at least as
 *   long. Only requests of the same policies, the same object and a cost of at least `c` are
 *   answered from memory.
 * - `retryAfter` is whole seconds rounded up, so the wait the object computed is more than
 *   `retryAfter − 1` s; a further {@link CLOCK_SKEW_MS} covers the Worker's clock running ahead of
 *   the object's. A wait of 2 s or less is therefore never remembered.
 * - Only giving units back makes an object admit sooner: a refund, a reset or a change of the
 *   key's overrides. Those made through this isolate forget the key's denials before and after
 *   they reach the object, no denial of the key is remembered while one is on its way (the object
 *   may have given the units back before its answer arrives), and a denial answered to a check
 *   that started before the last forgetting is not remembered (it may have been decided before
 *   the units came back). Made through another isolate, they are not seen here: such a key is
 *   refused here until its remembered wait runs out (at most what the object asked for when it
 *   refused). Do not enable the cache where another isolate's refunds must be seen at once.
 *
 * @example
 * ```ts
 * const denials = new DenialCache();
 * const hit = denials.get(key, policies, cost);
 * if (hit) return hit; // allowed: false, without calling the object
 * const ticket = denials.ticket();
 * const result = await object.check(policies, cost);
 * denials.remember(key, policies, cost, result, ticket);
 * ```
 */
import type { QuotaResult } from "./protocol";

/** How far the Worker's clock may run ahead of the object's before a remembered denial could be early. */
export const CLOCK_SKEW_MS = 1000;

/** How many keys an isolate remembers denials of, by default. */
export const DEFAULT_CACHE_KEYS = 10_000;

/** When a check was sent: the Worker's clock, and how many times denials had been forgotten. */
export interface Ticket {
  at: number;
  epoch: number;
}

interface Entry {
  cost: number;
  /** Epoch ms (the Worker's clock) until which the object would refuse. */
  until: number;
  /** When the object refused, for the answer's waits. */
  at: number;
  result: QuotaResult;
}

export class DenialCache {
  /** Object name to (the check's policies, serialized) to its denial; Map order is recency. */
  private readonly keys = new Map<string, Map<string, Entry>>();
  /** Answers served from memory since the isolate started (for tests and metrics). */
  hits = 0;
  /** Bumped by every {@link forget}: a denial sent before it may predate units given back. */
  private epoch = 0;
  /**
   * Keys with a change on its way to their object ({@link forgetAround}), and how many: none of
   * their denials is remembered until it is answered. The object may already have given the units
   * back while its answer is still on the way, and a denial remembered then would be answered
   * until the second forget, though the object would admit.
   */
  private readonly changing = new Map<string, number>();

  constructor(
    readonly maxKeys = DEFAULT_CACHE_KEYS,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The remembered denial of `name` under exactly `policies` for a cost of at least the refused
   * one, its waits shortened by the time since, or null.
   */
  get(name: string, policies: unknown, cost: number): QuotaResult | null {
    const denials = this.keys.get(name);
    if (!denials || cost <= 0) return null;
    const signature = JSON.stringify(policies);
    const entry = denials.get(signature);
    if (!entry) return null;
    const now = this.now();
    if (now >= entry.until) {
      denials.delete(signature);
      if (denials.size === 0) this.keys.delete(name);
      return null;
    }
    if (cost < entry.cost) return null;
    // Recently used: to the end of the Map.
    this.keys.delete(name);
    this.keys.set(name, denials);
    this.hits++;
    // Whole seconds passed, rounded down: a wait shortened by them is never early.
    const passed = Math.floor((now - entry.at) / 1000);
    return {
      allowed: false,
      policies: entry.result.policies.map((quota) => ({
        ...quota,
        reset: Math.max(0, quota.reset - passed),
        retryAfter: quota.retryAfter > 0 ? Math.max(1, quota.retryAfter - passed) : 0,
      })),
    };
  }

  /** Take one before sending a check whose denial may be remembered. */
  ticket(): Ticket {
    return { at: this.now(), epoch: this.epoch };
  }

  /**
   * Remembers `result` if it is a denial worth remembering: asked with `ticket` (taken before the
   * call), nothing forgotten since and no change of the key on its way, its longest enforced wait
   * more than `1 s + CLOCK_SKEW_MS`.
   */
  remember(name: string, policies: unknown, cost: number, result: QuotaResult, ticket: Ticket): void {
    if (result.allowed || cost <= 0 || ticket.epoch !== this.epoch || this.changing.has(name)) return;
    const startedAt = ticket.at;
    const wait = Math.max(0, ...result.policies.filter((q) => q.mode !== "shadow").map((q) => q.retryAfter));
    const until = startedAt + (wait - 1) * 1000 - CLOCK_SKEW_MS;
    if (until <= startedAt) return;
    let denials = this.keys.get(name);
    if (denials) this.keys.delete(name);
    else denials = new Map();
    this.keys.set(name, denials);
    denials.set(JSON.stringify(policies), { cost, until, at: startedAt, result });
    // Bounded: the least recently used key goes first.
    while (this.keys.size > this.maxKeys) this.keys.delete(this.keys.keys().next().value!);
  }

  /**
   * Forgets every denial of `name` (it is being refunded, reset or its overrides changed), and
   * any denial of a check already sent. Call it before and after the change reaches the object.
   */
  forget(name: string): void {
    this.keys.delete(name);
    this.epoch++;
  }

  /**
   * Forgets `names` before and after `change` (see {@link forget}), and remembers no denial of
   * theirs while it is on its way.
   */
  async forgetAround<T>(names: readonly string[], change: () => Promise<T>): Promise<T> {
    names.forEach((name) => {
      this.forget(name);
      this.changing.set(name, (this.changing.get(name) ?? 0) + 1);
    });
    try {
      return await change();
    } finally {
      names.forEach((name) => {
        const left = this.changing.get(name)! - 1;
        if (left > 0) this.changing.set(name, left);
        else this.changing.delete(name);
        this.forget(name);
      });
    }
  }

  /** How many keys have denials remembered. */
  get size(): number {
    return this.keys.size;
  }
}
