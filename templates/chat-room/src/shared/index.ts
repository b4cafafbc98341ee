// Vendored from durable-patterns packages/shared/src/index.ts by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
// Re-exports only the modules of @durable-patterns/shared this app uses; the rest of the package was left out.
export * from "./bearer";
export * from "./gcra";
export * from "./http";
export * from "./metrics";
export * from "./migrations";
export * from "./sockets";
export * from "./sql-object";
