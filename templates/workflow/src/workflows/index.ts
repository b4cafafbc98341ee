/**
 * The workflows this app can start. Add yours here: src/index.ts builds the Worker and the objects
 * for this list.
 */
import type { AnyWorkflow } from "../engine/define";
import { dailyReport } from "./daily-report";
import { order } from "./order";

export const workflows: readonly AnyWorkflow[] = [order, dailyReport];
