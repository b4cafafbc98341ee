declare module "vitest" {
  interface ProvidedContext {
    /** Cases per property in the property tests (FC_RUNS, default 100). */
    fcRuns: number;
    /** fast-check seed (FC_SEED, default fixed), printed by each suite for replay. */
    fcSeed: number;
  }
}
export {};
