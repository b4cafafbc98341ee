// Vendored from durable-patterns packages/config-check/src/jsonc.js by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
// @ts-check
import { findNodeAtLocation, getNodeValue, parseTree, printParseErrorCode } from "jsonc-parser";

/**
 * @typedef {object} JsoncDocument
 * @property {string} text
 * @property {any} value the parsed value (undefined when the text is not JSONC)
 * @property {{ message: string, line: number, column: number }[]} errors syntax errors
 * @property {(path: (string | number)[]) => { line: number, column: number }} locate where a value
 *   is (1-based), or the nearest existing parent when the path does not exist
 */

/**
 * Parses JSON with comments and trailing commas (what wrangler.jsonc allows), keeping positions
 * so that problems can point at a line.
 *
 * @param {string} text
 * @returns {JsoncDocument}
 * @example
 *   const doc = parseJsonc('{ "a": [1, 2,], // note\n }');
 *   doc.value.a; // [1, 2]
 *   doc.locate(["a", 1]); // { line: 1, column: 12 }
 */
export function parseJsonc(text) {
  /** @type {import("jsonc-parser").ParseError[]} */
  const parseErrors = [];
  const tree = parseTree(text, parseErrors, { allowTrailingComma: true, disallowComments: false });
  const position = (/** @type {number} */ offset) => {
    const before = text.slice(0, offset).split("\n");
    return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
  };
  return {
    text,
    value: tree ? getNodeValue(tree) : undefined,
    errors: parseErrors.map((error) => ({
      message: words(printParseErrorCode(error.error)),
      ...position(error.offset),
    })),
    locate(path) {
      if (!tree) return { line: 1, column: 1 };
      for (let length = path.length; length >= 0; length--) {
        const node = findNodeAtLocation(tree, path.slice(0, length));
        if (node) return position(node.parent?.type === "property" ? node.parent.offset : node.offset);
      }
      return { line: 1, column: 1 };
    },
  };
}

/** "CommaExpected" -> "comma expected" */
function words(/** @type {string} */ code) {
  return code.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
}
