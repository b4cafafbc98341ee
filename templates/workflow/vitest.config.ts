import { workersTestConfig } from "./src/shared/vitest";

// Inside workerd, against the tests' own Worker entry: the app built for the shipped workflows and
// the tests' (wrangler.jsonc's `main`, src/index.ts, stays the deployed one). FC_RUNS and FC_SEED
// set the property tests' cases and seed. WORKFLOW_TOKEN is the secret a deployment sets with
// `wrangler secret put`; the tests use a fixed one.
export default workersTestConfig({ main: "./test/worker.ts", bindings: { WORKFLOW_TOKEN: "test-token" } });
