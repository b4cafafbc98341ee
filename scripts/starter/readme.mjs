// Adapts an app's README to the standalone project: a header saying where it came from, commands
// that work without the workspace (npm instead of `pnpm --filter <app>`), and links that do not
// point outside the project. Sections of the root README that the app links to by anchor (the
// platform rules) are appended, so the links still lead somewhere.
import { existsSync } from "node:fs";
import { join, relative, sep } from "node:path";

/**
 * @returns {{ text: string, unlinked: string[] }} the new README and the link targets that
 *   could not be kept (their text stays, without the link).
 */
export function adaptReadme(source, { app, appDir, root, origin, vendored, rootReadme }) {
  const unlinked = [];
  const appendix = new Map(); // root README anchor -> { title, anchor, body }

  const rewriteLinks = (text, baseDir) =>
    text.replace(/(!?)\[([^\]\n]*)\]\(([^)\s]+)\)/g, (link, bang, label, target) => {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("#")) return link;
      const [path, anchor] = target.split("#");
      const absolute = join(baseDir, path);
      if (baseDir === appDir && isWithin(appDir, absolute)) return link;
      if (isWithin(appDir, absolute))
        return `${bang}[${label}](${relative(appDir, absolute).split(sep).join("/") || "."}${anchor ? "#" + anchor : ""})`;
      for (const v of vendored) {
        const mapped = mapIntoVendored(absolute, v);
        if (mapped) return `${bang}[${label}](${mapped})`;
      }
      if (absolute === join(root, "README.md") && anchor) {
        const section = sectionOf(rootReadme, anchor);
        if (section) {
          const title = `${section.title} (from durable-patterns)`;
          appendix.set(anchor, { title, body: section.body });
          return `${bang}[${label}](#${slug(title)})`;
        }
      }
      unlinked.push(target);
      return bang ? "" : label;
    });

  let text = rewriteLinks(withoutSection(source, START_YOUR_OWN), appDir);
  text = rewriteCommands(text, app);
  for (const { title, body } of appendix.values()) {
    text = text.trimEnd() + `\n\n## ${title}\n\n` + rewriteLinks(withoutDated(body), root).trim() + "\n";
  }
  return { text: insertHeader(text, headerFor(app, origin, vendored)), unlinked };
}

// Results of a given day (benchmark tables, soak figures) are marked in the root README between
// these comments. A project exported from it would carry them as they stood that day, stale from
// the next run on, so they are left out of the sections it copies, with a pointer instead.
const DATED = /<!-- dated -->[\s\S]*?<!-- \/dated -->/g;
const DATED_POINTER =
  "_The dated results that stand here in durable-patterns' README are not copied: they would be stale. See that repository (its README and bench/README.md)._";

/** A copied section without its dated results. */
function withoutDated(markdown) {
  return markdown.replace(DATED, DATED_POINTER);
}

// How to start from the app (C3, Deploy button, `pnpm starter`): the project already is that start.
const START_YOUR_OWN = "Start your own";

/** The markdown without its `## <title>` section. */
function withoutSection(markdown, title) {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => l.trim() === `## ${title}`);
  if (start === -1) return markdown;
  const end = lines.findIndex((l, i) => i > start && /^#{1,2} /.test(l));
  return [...lines.slice(0, start), ...(end === -1 ? [] : lines.slice(end))].join("\n");
}

function headerFor(app, origin, vendored) {
  let text =
    `Exported from \`${origin.path}\` of durable-patterns${origin.commit ? ` (commit ${origin.commit})` : ""} by ` +
    `\`pnpm starter ${app} <dir>\`. It is a standalone project now: \`npm install\`, \`npm test\`, ` +
    `\`npm run dev\`, \`npm run deploy\` (or the same with pnpm).`;
  for (const v of vendored) {
    const files = v.files.map((f) => `\`${f.split(sep).join("/")}\``).join(", ");
    text += ` The parts of \`${v.name}\` it uses (${files}) are vendored as plain source in [${v.dir}/](${v.dir}/): they are yours to edit.`;
  }
  return (
    wrap(text, 98)
      .map((line) => `> ${line}`)
      .join("\n") + "\n"
  );
}

function wrap(text, width) {
  const lines = [];
  let line = "";
  // A code span is one word: a line break inside it would change the rendering.
  for (const word of text.match(/(?:`[^`]*`|[^\s`])+/g) ?? []) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

/** Puts the header right after the first `# ` title, or at the top. */
function insertHeader(text, header) {
  const title = /^# .*\n/m.exec(text);
  if (!title) return header + "\n" + text;
  const at = title.index + title[0].length;
  return text.slice(0, at) + "\n" + header + text.slice(at);
}

/** `pnpm --filter <app> x` -> `npm run x` (`npm test`, `npx` for exec), `pnpm install` -> `npm install`. */
function rewriteCommands(text, app) {
  const filter = new RegExp(`pnpm --filter ${app.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} (exec |[\\w:-]+)`, "g");
  const swap = (line) =>
    line
      .replace(filter, (_, what) => (what === "exec " ? "npx " : what === "test" ? "npm test" : `npm run ${what}`))
      .replace(/\bpnpm install\b/g, "npm install");
  // Inside fenced blocks, realign the `# comments` of the lines that changed length.
  const out = [];
  let block = null;
  for (const line of text.split("\n")) {
    if (/^\s*```/.test(line)) {
      if (block) {
        out.push(...realign(block), line);
        block = null;
      } else {
        out.push(line);
        block = [];
      }
      continue;
    }
    if (block) block.push({ before: line, after: swap(line) });
    else out.push(swap(line));
  }
  if (block) out.push(...realign(block));
  return out.join("\n");
}

function realign(lines) {
  if (lines.every(({ before, after }) => before === after)) return lines.map(({ after }) => after);
  const comment = /^(.*?\S)(\s{2,})(#.*)$/;
  const commented = lines.filter(({ before }) => comment.test(before));
  if (!commented.length) return lines.map(({ after }) => after);
  // Keep the gap the original left after its longest command.
  const longest = Math.max(...commented.map(({ before }) => before.match(comment)[1].length));
  const gap =
    Math.max(...commented.map(({ before }) => before.match(comment)[1].length + before.match(comment)[2].length)) -
    longest;
  const width = Math.max(...commented.map(({ after }) => after.match(comment)?.[1].length ?? after.length));
  return lines.map(({ before, after }) => {
    const m = comment.test(before) && after.match(comment);
    return m ? m[1].padEnd(width + gap) + m[3] : after;
  });
}

function mapIntoVendored(absolute, vendored) {
  // vendored.sourceDir (absolute, in the workspace) -> vendored.dir (relative, in the project)
  if (!vendored.sourceDir) return null;
  if (
    absolute === vendored.packageDir ||
    absolute === vendored.packageDir + sep ||
    absolute === join(vendored.packageDir, "README.md")
  ) {
    return `${vendored.dir}/`;
  }
  if (!isWithin(vendored.sourceDir, absolute)) return null;
  const rel = relative(vendored.sourceDir, absolute).split(sep).join("/");
  if (rel === "" || vendored.files.some((f) => f === rel || f.startsWith(rel + "/"))) {
    return `${vendored.dir}/${rel}`.replace(/\/$/, "") + (rel === "" ? "/" : "");
  }
  return null;
}

/** The `## ` section of a markdown text whose heading has the given GitHub anchor. */
function sectionOf(markdown, anchor) {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => /^## /.test(l) && slug(l.slice(3)) === anchor);
  if (start === -1) return null;
  let end = lines.findIndex((l, i) => i > start && /^#{1,2} /.test(l));
  if (end === -1) end = lines.length;
  return { title: lines[start].slice(3).trim(), body: lines.slice(start + 1, end).join("\n") };
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading) {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");
}

function isWithin(dir, path) {
  const rel = relative(dir, path);
  return !rel.startsWith("..") && !rel.startsWith(sep) && (existsSync(path) || rel === "");
}
