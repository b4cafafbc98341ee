// Vendored from durable-patterns packages/shared/src/metrics.ts by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
/**
 * Metrics through Workers Analytics Engine, optional: an app writes one data point per operation
 * when its `METRICS` dataset binding is configured, and nothing otherwise (no binding, no cost, no
 * setup for local development). Points are queried with SQL through the Analytics Engine SQL API;
 * each app's README shows its points and two queries.
 *
 * A point is an `index` (what is sampled together: the app and the operation), up to 20 `blobs`
 * (strings to group by) and up to 20 `doubles` (numbers to sum or average). Keep keys and names
 * people chose out of blobs unless they are what the metric is about: a point is kept three months.
 *
 * @example
 * ```toml
 * # wrangler.jsonc
 * "analytics_engine_datasets": [{ "binding": "METRICS", "dataset": "counter" }]
 * ```
 * ```ts
 * metric(this.env, { index: "counter:change", blobs: ["increment"], doubles: [by] });
 * ```
 */

/** What a Worker or object's `env` may hold: the optional dataset binding. */
export interface MetricsEnv {
  METRICS?: AnalyticsEngineDataset;
}

export interface MetricPoint {
  /** The sampling key: `<app>:<operation>`. */
  index: string;
  blobs?: string[];
  doubles?: number[];
}

/** Writes `point` to the `METRICS` dataset when the binding exists; does nothing otherwise. */
export function metric(env: object, point: MetricPoint): void {
  const dataset = (env as MetricsEnv).METRICS;
  if (!dataset) return;
  dataset.writeDataPoint({ indexes: [point.index], blobs: point.blobs ?? [], doubles: point.doubles ?? [] });
}
