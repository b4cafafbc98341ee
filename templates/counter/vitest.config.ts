import { workersTestConfig } from "./src/shared/vitest";

// Inside workerd with wrangler.jsonc; FC_RUNS and FC_SEED set the property tests' cases and seed.
export default workersTestConfig();
