import { workersTestConfig } from "./src/shared/vitest";

// Inside workerd with wrangler.jsonc; FC_RUNS and FC_SEED set the property tests' cases and seed.
// The secret a deployment sets with `wrangler secret put`; tests use a fixed one.
export default workersTestConfig({ bindings: { RATE_LIMITER_TOKEN: "test-token" } });
