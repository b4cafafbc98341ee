/**
 * workerd's CPU time, read from Linux's /proc: the user + system time of the one workerd process
 * this harness started (all its threads), in clock ticks. Read before and after a measured window
 * and divided by the requests served in it, it gives CPU µs per request, which, unlike req/s,
 * does not depend on how much of the machine the bench got.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";

/**
 * @typedef {object} CpuReader
 * @property {number} pid workerd's process id.
 * @property {number} clockTicks ticks per second (`getconf CLK_TCK`).
 * @property {() => number} ticks utime + stime so far, in ticks.
 */

/**
 * The workerd that Miniflare started for this process: its child whose command name is
 * `workerd`. Other workerd processes on the machine (another engineer's tests, another bench)
 * are not children of this process and are never counted. `undefined` where there is no /proc.
 *
 * @returns {CpuReader | undefined}
 * @throws when this process has no workerd child, or more than one (which one served is unknown).
 */
export function workerdCpu() {
  if (!existsSync("/proc/self/stat")) return undefined;
  const children = readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .map((entry) => readStat(Number(entry)))
    .filter((stat) => stat !== undefined && stat.ppid === process.pid);
  const workerd = children.filter((stat) => stat.comm === "workerd");
  if (workerd.length !== 1) {
    throw new Error(
      `cpu: expected one workerd child of pid ${process.pid}, found ${workerd.length} (children: ${children.map((stat) => `${stat.pid} ${stat.comm}`).join(", ") || "none"})`,
    );
  }
  const { pid } = workerd[0];
  return {
    pid,
    clockTicks: clockTicks(),
    ticks() {
      const stat = readStat(pid);
      if (!stat) throw new Error(`cpu: workerd (pid ${pid}) is gone`);
      return stat.utime + stat.stime;
    },
  };
}

/**
 * One process's /proc/<pid>/stat: the command name sits in parentheses and may itself hold
 * spaces or parentheses, so the fields are counted from the last ")".
 */
function readStat(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined; // gone between the listing and the read
  }
  const close = text.lastIndexOf(")");
  const comm = text.slice(text.indexOf("(") + 1, close);
  // Fields from the 3rd (state) on; proc(5) numbers them from 1: ppid is 4, utime 14, stime 15.
  const fields = text
    .slice(close + 2)
    .trim()
    .split(" ");
  const field = (n) => Number(fields[n - 3]);
  return { pid, comm, ppid: field(4), utime: field(14), stime: field(15) };
}

function clockTicks() {
  try {
    const value = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    if (Number.isInteger(value) && value > 0) return value;
  } catch {
    // no getconf: Linux's USER_HZ is 100 on every common architecture
  }
  return 100;
}
