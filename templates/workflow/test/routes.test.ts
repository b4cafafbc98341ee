import { describe, expect, it } from "vitest";
import { api } from "./helpers";

describe("unknown routes", () => {
  it("answers an unknown route with a problem+json 404", async () => {
    const response = await api("/api/nothing");
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
  });
});
