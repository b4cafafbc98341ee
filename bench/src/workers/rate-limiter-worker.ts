/**
 * The rate limiter's Worker (same auth, router, validation and headers) in front of an object
 * that stores nothing: the Worker side of a check, without the object side.
 */
export { default } from "../../../apps/rate-limiter/src/index";
export { NoopRateLimiter as RateLimiter } from "./noop-rate-limiter";
