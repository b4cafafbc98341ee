export * from "./alarm-queue";
export * from "./deadline";
export * from "./http";
export * from "./migrations";
export * from "./shards";
export * from "./sockets";
export * from "./sql";
