// Vendored from durable-patterns packages/config-check/src/acknowledgements.js by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
// @ts-check
/**
 * Acknowledgements: comments in wrangler.jsonc that say a dangerous migration is intended.
 *
 *   // durable-config-check: allow deleted_classes OldRoom, Draft
 *   // durable-config-check: allow renamed_classes Room
 *   // durable-config-check: allow new_classes LegacyKvCounter
 *   // durable-config-check: allow tag-order
 *
 * They live next to the migration they excuse, in the file that is reviewed with it, so the
 * decision is visible in the diff that introduces it.
 */

export const ACKNOWLEDGEABLE = [
  "new_classes",
  "deleted_classes",
  "renamed_classes",
  "transferred_classes",
  "tag-order",
];

const COMMENT = /durable-config-check:\s*allow\s+([\w-]+)([^\n]*)/g;

/**
 * @param {string} text the raw wrangler.jsonc
 * @returns {Map<string, Set<string>>} what is allowed -> class names ("*" for tag-order)
 * @example
 *   acknowledgements("// durable-config-check: allow deleted_classes Old").get("deleted_classes"); // Set {"Old"}
 */
export function acknowledgements(text) {
  /** @type {Map<string, Set<string>>} */
  const allowed = new Map();
  for (const match of text.matchAll(COMMENT)) {
    const what = match[1] ?? "";
    const names = (match[2] ?? "")
      .replace(/\*\/.*$/, "")
      .split(/[\s,]+/)
      .filter((name) => /^\w+$/.test(name));
    const set = allowed.get(what) ?? new Set();
    for (const name of what === "tag-order" ? ["*"] : names) set.add(name);
    allowed.set(what, set);
  }
  return allowed;
}
