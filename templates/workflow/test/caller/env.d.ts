// The caller's own types: `wrangler types` (worker-configuration.d.ts, made by `pnpm typecheck`)
// declares WORKFLOWS as an untyped `Service`; this narrows it to the workflow app's RPC surface.
// src/rpc.ts names no binding of the workflow app, so nothing of its Env reaches this one.
import type { WorkflowRpc } from "../../src/rpc";

declare global {
  interface Env {
    WORKFLOWS: Service<WorkflowRpc>;
  }
}
