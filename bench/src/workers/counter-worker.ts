/**
 * The counter app's Worker (same router, same validation) in front of an object that does
 * nothing: the Worker side of a counter request, without the object side.
 */
export { default } from "../../../apps/counter/src/index";
export { NoopCounter as Counter } from "./noop-counter";
