declare module "vitest" {
  interface ProvidedContext {
    /** Cases per property in test/reliability.test.ts (FC_RUNS, default 200). */
    fcRuns: number;
    /** fast-check seed (FC_SEED, default fixed), printed by the suite for replay. */
    fcSeed: number;
  }
}
export {};
