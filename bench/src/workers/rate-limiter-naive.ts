/**
 * The rate limiter's Worker (same auth, router and validation) with its RateLimiter class swapped
 * for the naive timestamp-array one: the only difference from the real app is how the object
 * limits and stores.
 */
export { default } from "../../../apps/rate-limiter/src/index";
export { NaiveRateLimiter as RateLimiter } from "./naive-rate-limiter";
