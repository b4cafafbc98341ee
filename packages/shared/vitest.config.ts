import { workersTestConfig } from "./src/vitest.ts";

// Property tests (alarm-queue-recovery, alarm-queue-interleavings) print their cases and seed, so a
// failure can be replayed with FC_SEED and FC_RUNS. Generous time: on a busy 2-core machine a
// file's first test also pays for starting its workerd worker, and the 10,000-task tests write
// 30,000 rows. No test asserts on time.
export default workersTestConfig({ fcRuns: 100, fcSeed: 20261127, testTimeout: 120_000 });
