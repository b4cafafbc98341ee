// A shorter import path can make a wrapped import fit on one line, and rewritten links change the
// width of table cells: the files an export rewrote are formatted with the project's own Prettier
// config, so the copy passes its `prettier --check` from the start.
import { readFileSync, writeFileSync } from "node:fs";

export async function formatRewritten(files) {
  const prettier = await import("prettier");
  for (const file of files) {
    const options = (await prettier.resolveConfig(file)) ?? {};
    writeFileSync(file, await prettier.format(readFileSync(file, "utf8"), { ...options, filepath: file }));
  }
}
