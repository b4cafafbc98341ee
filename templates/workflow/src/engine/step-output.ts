/**
 * Step results in SQLite. A result up to 1 MiB of JSON is one column of the step's row; a larger
 * one is split into 1 MiB chunk rows (a SQLite value may be 2 MB), up to 32 MiB in all.
 * Cloudflare Workflows stops at 1 MiB per step.
 */
import type { Sql } from "../shared";
import { NonJsonResultError, OutputTooLargeError } from "./errors";

/** Results up to this many bytes of JSON stay in the step's row. */
export const INLINE_OUTPUT_BYTES = 1024 * 1024;
/** Size of each chunk row of a larger result. */
export const CHUNK_BYTES = 1024 * 1024;
/** The largest result a step may return. */
export const MAX_OUTPUT_BYTES = 32 * 1024 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A result ready to store: its JSON (null for `undefined`) and byte size. */
export interface EncodedOutput {
  json: string | null;
  bytes: number;
}

/**
 * JSON of a step's result, size-checked.
 *
 * @throws {OutputTooLargeError} over {@link MAX_OUTPUT_BYTES}, naming the size and the limit.
 */
export function encodeOutput(step: string, value: unknown): EncodedOutput {
  const problem = jsonProblem(value, "the result", new Set());
  if (problem) {
    throw new NonJsonResultError(
      `Step "${step}" returned ${problem}, which JSON cannot store exactly; a replay would not return the same value. ` +
        `Return plain data: objects, arrays, strings, finite numbers, booleans and null (e.g. a Date as its ISO string).`,
    );
  }
  const json = value === undefined ? null : JSON.stringify(value);
  if (json === undefined) return { json: null, bytes: 0 }; // functions and symbols serialize to nothing
  const bytes = json === null ? 0 : encoder.encode(json).byteLength;
  if (bytes > MAX_OUTPUT_BYTES) {
    throw new OutputTooLargeError(
      `Step "${step}" returned ${bytes} bytes of JSON; a step result may be at most ${MAX_OUTPUT_BYTES} bytes (32 MiB). ` +
        `Store large data elsewhere (R2) and return its key.`,
    );
  }
  return { json, bytes };
}

/**
 * Why `value` would not come back from JSON exactly, or null when it would. Plain objects,
 * arrays, strings, finite numbers, booleans and null round-trip; so does `undefined` at the top
 * (no result) and as an object property (dropped, as optional fields are). Everything else is named.
 */
function jsonProblem(value: unknown, path: string, ancestors: Set<object>): string | null {
  switch (typeof value) {
    case "string":
    case "boolean":
      return null;
    case "number":
      return Number.isFinite(value) ? null : `${String(value)} at ${path}`;
    case "bigint":
      return `a BigInt at ${path}`;
    case "undefined":
      return path === "the result" ? null : `undefined at ${path}`;
    case "function":
    case "symbol":
      return `a ${typeof value} at ${path}`;
  }
  if (value === null) return null;
  const object = value as object;
  if (ancestors.has(object)) return `a circular reference at ${path}`;
  const prototype = Object.getPrototypeOf(object) as object | null;
  if (Array.isArray(object)) {
    ancestors.add(object);
    for (let i = 0; i < object.length; i++) {
      const item: unknown = object[i];
      const problem = item === undefined ? `undefined at ${path}[${i}]` : jsonProblem(item, `${path}[${i}]`, ancestors);
      if (problem) return problem;
    }
    ancestors.delete(object);
    return null;
  }
  if (prototype !== Object.prototype && prototype !== null) {
    const name = (object.constructor as { name?: string } | undefined)?.name || "an object with a prototype";
    return `a ${name} at ${path}`;
  }
  ancestors.add(object);
  for (const [key, item] of Object.entries(object)) {
    if (item === undefined) continue;
    const problem = jsonProblem(item, `${path}.${key}`, ancestors);
    if (problem) return problem;
  }
  ancestors.delete(object);
  return null;
}

/** The value a caller gets: what a replay will return, so first run and replays agree exactly. */
export function decodeJson(json: string | null): unknown {
  return json === null ? undefined : (JSON.parse(json) as unknown);
}

/**
 * Writes a result into step `seq`: inline, or as chunk rows. Call inside the transaction that
 * marks the step complete. Returns the value for the `output` column (null when chunked).
 */
export function storeOutput(sql: Sql, seq: number, output: EncodedOutput): string | null {
  if (output.json === null || output.bytes <= INLINE_OUTPUT_BYTES) return output.json;
  const data = encoder.encode(output.json);
  for (let index = 0, offset = 0; offset < data.byteLength; index++, offset += CHUNK_BYTES) {
    const chunk = data.slice(offset, offset + CHUNK_BYTES);
    sql.run("INSERT INTO step_chunks (seq, idx, data) VALUES (?, ?, ?)", seq, index, chunk.buffer);
  }
  return null;
}

/** Reads back a result stored by {@link storeOutput}. */
export function loadOutputJson(sql: Sql, seq: number, inline: string | null, bytes: number | null): string | null {
  if (inline !== null || !bytes) return inline;
  const chunks = sql.all<{ data: ArrayBuffer }>("SELECT data FROM step_chunks WHERE seq = ? ORDER BY idx", seq);
  const whole = new Uint8Array(bytes);
  let offset = 0;
  for (const { data } of chunks) {
    whole.set(new Uint8Array(data), offset);
    offset += data.byteLength;
  }
  return decoder.decode(whole);
}
