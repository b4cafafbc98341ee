// Vendored from durable-patterns packages/config-check/src/check.js by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
// @ts-check
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { acknowledgements } from "./acknowledgements.js";
import { moduleExports } from "./exports.js";
import { parseJsonc } from "./jsonc.js";

/** SQLite-backed Durable Objects exist from this compatibility date on. */
export const MIN_COMPATIBILITY_DATE = "2024-04-03";

/**
 * @typedef {object} Problem
 * @property {string} file
 * @property {number} line
 * @property {number} column
 * @property {string} rule a short stable name, e.g. "duplicate-tag"
 * @property {string} message what is wrong and why it matters
 * @property {string} fix what to do
 */

/** @param {string} a @param {string} b */
const naturalCompare = (a, b) => a.localeCompare(b, "en", { numeric: true, sensitivity: "base" });

/** @param {unknown} value @returns {string[]} */
const stringList = (value) => (Array.isArray(value) ? value.filter((item) => typeof item === "string") : []);

/** @param {unknown} value @returns {{ from: string, to: string }[]} */
const moves = (value) =>
  Array.isArray(value)
    ? value.filter((item) => item && typeof item.from === "string" && typeof item.to === "string")
    : [];

/**
 * Checks one wrangler.jsonc (or wrangler.json) for the Durable Object deployment traps.
 *
 * @param {string} configPath
 * @returns {Problem[]} empty when the config is fine
 * @example
 *   for (const p of checkConfig("wrangler.jsonc")) console.error(`${p.file}:${p.line} ${p.message}`);
 */
export function checkConfig(configPath) {
  const file = path.normalize(path.relative(process.cwd(), configPath) || configPath);
  const text = readFileSync(configPath, "utf8");
  const doc = parseJsonc(text);
  /** @type {Problem[]} */
  const problems = [];
  /**
   * @param {(string | number)[]} at
   * @param {string} rule
   * @param {string} message
   * @param {string} fix
   */
  const report = (at, rule, message, fix) => problems.push({ file, ...doc.locate(at), rule, message, fix });

  for (const error of doc.errors) {
    problems.push({
      file,
      line: error.line,
      column: error.column,
      rule: "syntax",
      message: `Not valid JSONC: ${error.message}.`,
      fix: "Fix the syntax; comments and trailing commas are allowed.",
    });
  }
  const config = doc.value;
  if (!config || typeof config !== "object" || Array.isArray(config)) return problems;
  const allowed = acknowledgements(text);
  const isAllowed = (/** @type {string} */ what, /** @type {string} */ name) =>
    allowed.get(what)?.has(name) || allowed.get(what)?.has("*") || false;

  checkCompatibilityDate(config, report);
  const created = checkMigrations(config, report, isAllowed);
  checkBindings(config, configPath, created, report);
  return problems;
}

/**
 * @typedef {(at: (string | number)[], rule: string, message: string, fix: string) => void} Report
 */

/**
 * @param {any} config
 * @param {Report} report
 */
function checkCompatibilityDate(config, report) {
  const date = config.compatibility_date;
  if (date === undefined) {
    report(
      [],
      "compatibility-date",
      "compatibility_date is missing: the Worker would run with the oldest runtime behaviour, without SQLite-backed Durable Objects.",
      `Add "compatibility_date": "${new Date().toISOString().slice(0, 10)}" (today; never older than ${MIN_COMPATIBILITY_DATE}).`,
    );
  } else if (typeof date !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(date)) {
    report(
      ["compatibility_date"],
      "compatibility-date",
      `compatibility_date ${JSON.stringify(date)} is not a YYYY-MM-DD date.`,
      `Set it to a recent date such as "${new Date().toISOString().slice(0, 10)}".`,
    );
  } else if (date < MIN_COMPATIBILITY_DATE) {
    report(
      ["compatibility_date"],
      "compatibility-date",
      `compatibility_date ${date} is older than ${MIN_COMPATIBILITY_DATE}, the first date with SQLite-backed Durable Objects (ctx.storage.sql), and misses years of runtime fixes.`,
      `Set it to a recent date (read the compatibility flags changelog between ${date} and today first).`,
    );
  }
}

/**
 * Replays the migrations in order, reporting tag and class problems; returns the classes that
 * exist after the last migration.
 *
 * @param {any} config
 * @param {Report} report
 * @param {(what: string, name: string) => boolean} isAllowed
 * @returns {Set<string>}
 */
function checkMigrations(config, report, isAllowed) {
  const migrations = Array.isArray(config.migrations) ? config.migrations : [];
  /** @type {Map<string, number>} */
  const tags = new Map();
  /** @type {Set<string>} */
  const alive = new Set();
  /** @type {string | undefined} */
  let previousTag;
  migrations.forEach((/** @type {any} */ migration, /** @type {number} */ index) => {
    const at = ["migrations", index];
    const tag = migration?.tag;
    if (typeof tag !== "string" || tag === "") {
      report(
        at,
        "missing-tag",
        `migrations[${index}] has no tag: wrangler records the last applied tag to know which migrations are new.`,
        `Give it a tag that follows the previous one (e.g. "v${index + 1}").`,
      );
    } else if (tags.has(tag)) {
      report(
        [...at, "tag"],
        "duplicate-tag",
        `migrations[${index}] reuses tag "${tag}" (already used by migrations[${tags.get(tag)}]): wrangler tells migrations apart by tag, so one of them is skipped or the deploy fails.`,
        "Give every migration its own tag; append new migrations with the next tag, never copy an entry.",
      );
    } else {
      tags.set(tag, index);
      if (previousTag !== undefined && naturalCompare(tag, previousTag) < 0 && !isAllowed("tag-order", "*")) {
        report(
          [...at, "tag"],
          "tag-order",
          `migrations[${index}] has tag "${tag}", which sorts before the previous tag "${previousTag}": migrations are append-only, and an entry inserted before the last deployed tag is never applied.`,
          "Append new migrations at the end with the next tag (v1, v2, ... v10 sort naturally). If your tags are names, not numbers, and the order is right, add the comment `// durable-config-check: allow tag-order`.",
        );
      }
      previousTag = tag;
    }

    for (const [key, sqlite] of /** @type {const} */ ([
      ["new_sqlite_classes", true],
      ["new_classes", false],
    ])) {
      stringList(migration?.[key]).forEach((name, position) => {
        if (alive.has(name)) {
          report(
            [...at, key, position],
            "created-twice",
            `migrations[${index}] creates "${name}", which an earlier migration already created.`,
            "Remove the second creation: a class is created once; later migrations only rename, transfer or delete it.",
          );
        }
        alive.add(name);
        if (!sqlite && !isAllowed("new_classes", name)) {
          report(
            [...at, key, position],
            "kv-backed-class",
            `migrations[${index}] creates "${name}" with new_classes, which makes it a KV-backed Durable Object: no ctx.storage.sql, and it can never be converted to SQLite later.`,
            `Use "new_sqlite_classes": ["${name}"]. If this migration is already deployed (a legacy KV-backed class), keep it and add the comment \`// durable-config-check: allow new_classes ${name}\`.`,
          );
        }
      });
    }

    stringList(migration?.deleted_classes).forEach((name, position) => {
      alive.delete(name);
      if (!isAllowed("deleted_classes", name)) {
        report(
          [...at, "deleted_classes", position],
          "deleted-class",
          `migrations[${index}] deletes "${name}": deploying it destroys every object of that class and all of its stored data, with no undo.`,
          `To rename the class use renamed_classes, to move it to another Worker use transferred_classes. If the data really must go, add the comment \`// durable-config-check: allow deleted_classes ${name}\` next to this migration.`,
        );
      }
    });

    for (const key of ["renamed_classes", "transferred_classes"]) {
      moves(migration?.[key]).forEach((move, position) => {
        if (key === "renamed_classes") alive.delete(move.from);
        alive.add(move.to);
        if (!isAllowed(key, move.from) && !isAllowed(key, move.to)) {
          report(
            [...at, key, position],
            key === "renamed_classes" ? "renamed-class" : "transferred-class",
            key === "renamed_classes"
              ? `migrations[${index}] renames "${move.from}" to "${move.to}": every existing object's data moves with it, the old class name stops working, and the main module must export "${move.to}" in the same deploy.`
              : `migrations[${index}] transfers "${move.from}" from Worker "${/** @type {any} */ (move).from_script ?? "?"}" to "${move.to}" here: every object's data moves into this Worker and the other Worker loses it, and the main module must export "${move.to}" in the same deploy.`,
            `If this is intended, add the comment \`// durable-config-check: allow ${key} ${move.from}\` next to this migration.`,
          );
        }
      });
    }
  });
  return alive;
}

/**
 * @param {any} config
 * @param {string} configPath
 * @param {Set<string>} created
 * @param {Report} report
 */
function checkBindings(config, configPath, created, report) {
  const bindings = Array.isArray(config.durable_objects?.bindings) ? config.durable_objects.bindings : [];
  /** @type {{ binding: any, index: number }[]} */
  const local = bindings
    .map((/** @type {any} */ binding, /** @type {number} */ index) => ({ binding, index }))
    .filter(
      (/** @type {{ binding: any }} */ { binding }) => typeof binding?.class_name === "string" && !binding.script_name,
    );
  if (local.length === 0) return;

  /** @type {import("./exports.js").ModuleExports | undefined} */
  let exported;
  const main = typeof config.main === "string" ? path.resolve(path.dirname(configPath), config.main) : undefined;
  if (!main) {
    report(
      [],
      "main",
      "durable_objects binds classes of this Worker, but there is no main module to export them.",
      'Add "main": "src/index.ts".',
    );
  } else if (!existsSync(main)) {
    report(["main"], "main", `main "${config.main}" does not exist.`, "Point main at the Worker's entry module.");
  } else {
    exported = moduleExports(main);
  }

  for (const { binding, index } of local) {
    const name = binding.class_name;
    const at = ["durable_objects", "bindings", index, "class_name"];
    if (exported && !exported.names.has(name)) {
      const maybe = exported.unresolved.length
        ? ` (re-exports from ${[...new Set(exported.unresolved)].join(", ")} could not be followed)`
        : "";
      report(
        at,
        "unexported-class",
        `Binding ${binding.name ?? `#${index}`} uses class "${name}", which ${config.main} does not export${maybe}: the deploy fails, or the runtime cannot find the class.`,
        `Add \`export { ${name} } from "./${kebab(name)}";\` (or \`export class ${name}\`) to ${config.main}.`,
      );
    }
    if (!created.has(name)) {
      report(
        at,
        "missing-migration",
        `Binding ${binding.name ?? `#${index}`} uses class "${name}", but no migration creates it: the deploy is refused until a migration declares the class.`,
        `Append { "tag": "v${(Array.isArray(config.migrations) ? config.migrations.length : 0) + 1}", "new_sqlite_classes": ["${name}"] } to "migrations".`,
      );
    }
  }
}

/** @param {string} name a class name, e.g. ChatRoom @returns {string} e.g. chat-room-object */
function kebab(name) {
  return `${name.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase()}-object`;
}

/**
 * Formats problems the way compilers do, `file:line:column`, so editors and CI logs link them.
 *
 * @param {Problem[]} problems
 * @param {"error" | "warning"} [label]
 * @returns {string}
 */
export function formatProblems(problems, label = "error") {
  return problems
    .map((p) => `${p.file}:${p.line}:${p.column}  ${label}  ${p.message}  [${p.rule}]\n    fix: ${p.fix}`)
    .join("\n");
}

/**
 * What a config may want but can deploy without: today, logs. Without `observability.enabled`
 * Workers Logs keeps nothing of what the Worker and its objects log (their request, operation,
 * alarm and dead-letter lines), so a failure in production leaves no trace to read. Warnings never
 * change the exit status.
 *
 * @param {string} configPath
 * @returns {Problem[]}
 */
export function checkWarnings(configPath) {
  const file = path.normalize(path.relative(process.cwd(), configPath) || configPath);
  const doc = parseJsonc(readFileSync(configPath, "utf8"));
  const config = doc.value;
  if (doc.errors.length || !config || typeof config !== "object" || Array.isArray(config)) return [];
  const observability = /** @type {any} */ (config).observability;
  if (observability?.enabled === true) return [];
  const at = observability === undefined ? [] : ["observability"];
  return [
    {
      file,
      ...doc.locate(at),
      rule: "observability",
      message:
        "observability.enabled is not true: Workers Logs will keep none of the lines the Worker and its Durable Objects log (requests, operations, alarm runs, dead letters).",
      fix: 'Add "observability": { "enabled": true } (head_sampling_rate lowers the volume if it is too much).',
    },
  ];
}
