/**
 * The counter app's Worker (same router, same validation) with its Counter class swapped for the
 * naive read-then-write one: the only difference from the real app is how the object stores.
 */
export { default } from "../../../apps/counter/src/index";
export { NaiveCounter as Counter } from "./naive-counter";
