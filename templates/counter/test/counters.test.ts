/**
 * The HTTP API of one named counter: read, increment, decrement, set and reset.
 */
import { describe, expect, it } from "vitest";
import { api, json, uniqueName } from "./helpers";

describe("GET /api/counters/:name", () => {
  it("answers 0 for a counter that was never touched", async () => {
    const name = uniqueName();
    const response = await api(`/api/counters/${name}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ name, value: 0 });
  });

  it("answers the value left by earlier changes", async () => {
    const name = uniqueName();
    await api(`/api/counters/${name}/increment`, json("POST", { by: 41 }));
    await api(`/api/counters/${name}/increment`, { method: "POST" });
    expect(await (await api(`/api/counters/${name}`)).json()).toEqual({ name, value: 42 });
  });

  it("keeps counters with different names apart", async () => {
    const [a, b] = [uniqueName(), uniqueName()];
    await api(`/api/counters/${a}/increment`, json("POST", { by: 5 }));
    expect(await (await api(`/api/counters/${b}`)).json()).toEqual({ name: b, value: 0 });
  });
});

describe("POST /api/counters/:name/increment", () => {
  it("adds 1 when sent without a body and answers the new value", async () => {
    const name = uniqueName();
    const response = await api(`/api/counters/${name}/increment`, { method: "POST" });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ name, value: 1 });
  });

  it("adds 1 for an empty body sent as application/json, as many clients do", async () => {
    const name = uniqueName();
    const response = await api(`/api/counters/${name}/increment`, {
      method: "POST",
      headers: { "content-type": "application/json" },
    });
    expect(await response.json()).toEqual({ name, value: 1 });
  });

  it('adds "by" when given', async () => {
    const name = uniqueName();
    const response = await api(`/api/counters/${name}/increment`, json("POST", { by: 250 }));
    expect(await response.json()).toEqual({ name, value: 250 });
  });

  it("accepts the largest safe integer as a step on a fresh counter", async () => {
    const name = uniqueName();
    const response = await api(`/api/counters/${name}/increment`, json("POST", { by: Number.MAX_SAFE_INTEGER }));
    expect(await response.json()).toEqual({ name, value: 9007199254740991 });
  });
});

describe("POST /api/counters/:name/decrement", () => {
  it("subtracts 1 by default and can go below zero", async () => {
    const name = uniqueName();
    const response = await api(`/api/counters/${name}/decrement`, { method: "POST" });
    expect(await response.json()).toEqual({ name, value: -1 });
  });

  it('subtracts "by" when given', async () => {
    const name = uniqueName();
    await api(`/api/counters/${name}/increment`, json("POST", { by: 10 }));
    const response = await api(`/api/counters/${name}/decrement`, json("POST", { by: 3 }));
    expect(await response.json()).toEqual({ name, value: 7 });
  });
});

describe("PUT /api/counters/:name", () => {
  it("sets the value and answers it", async () => {
    const name = uniqueName();
    const response = await api(`/api/counters/${name}`, json("PUT", { value: -1234 }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ name, value: -1234 });
    expect(await (await api(`/api/counters/${name}`)).json()).toEqual({ name, value: -1234 });
  });
});

describe("DELETE /api/counters/:name", () => {
  it("resets the counter to 0", async () => {
    const name = uniqueName();
    await api(`/api/counters/${name}/increment`, json("POST", { by: 9 }));
    const response = await api(`/api/counters/${name}`, { method: "DELETE" });
    expect(await response.json()).toEqual({ name, value: 0 });
    expect(await (await api(`/api/counters/${name}`)).json()).toEqual({ name, value: 0 });
  });
});

describe("names", () => {
  it.each(["a", "A-Z_0-9", "x".repeat(64)])("accepts %s", async (name) => {
    const response = await api(`/api/counters/${name}`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { name: string }).name).toBe(name);
  });

  it("treats names as case-sensitive", async () => {
    const name = uniqueName("Case");
    await api(`/api/counters/${name}/increment`, { method: "POST" });
    expect(await (await api(`/api/counters/${name.toLowerCase()}`)).json()).toMatchObject({ value: 0 });
  });
});
