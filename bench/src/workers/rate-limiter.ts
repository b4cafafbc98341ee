/**
 * The rate limiter exactly as it ships (its Worker and its RateLimiter class), plus one bench-only
 * RPC that reads the object's Sql meter (the alarm queue's statements go through it too).
 */
import { RateLimiter as AppRateLimiter } from "../../../apps/rate-limiter/src/rate-limiter-object";

export { default } from "../../../apps/rate-limiter/src/index";

export class RateLimiter extends AppRateLimiter {
  benchMeter() {
    return { ...this.sql.meter };
  }
}
