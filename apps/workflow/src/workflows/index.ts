/**
 * The workflows this app can start, by name. Add yours here.
 */
import { WorkflowRegistry } from "../engine/define";
import { dailyReport } from "./daily-report";
import { order } from "./order";

export const registry = new WorkflowRegistry([order, dailyReport]);
