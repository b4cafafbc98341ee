import { afterEach, describe, expect, it, vi } from "vitest";
import { SHARD_SEPARATOR, isPlainName, objectName, pickShard, shardName, shardNames } from "../src";

describe("shard names", () => {
  it("names shard 3 of key api:all api:all~3", () => {
    expect(shardName("api:all", 3)).toBe("api:all~3");
  });

  it("names shard 0 of counter page-views page-views~0, the same name the apps always used", () => {
    expect(shardName("page-views", 0)).toBe("page-views~0");
  });

  it("lists all 4 shards of page-views in order, from shard 0 up", () => {
    expect(shardNames("page-views", 4)).toEqual(["page-views~0", "page-views~1", "page-views~2", "page-views~3"]);
  });

  it("lists one shard for a key spread over 1, and none for 0", () => {
    expect(shardNames("a", 1)).toEqual(["a~0"]);
    expect(shardNames("a", 0)).toEqual([]);
  });

  it("gives every shard of a key its own name, and different keys different names", () => {
    const names = [...shardNames("a", 16), ...shardNames("a~1", 16), ...shardNames("b", 16)];
    expect(new Set(names).size).toBe(names.length);
  });
});

describe("the separator", () => {
  it("is ~, which no shard name lacks", () => {
    expect(SHARD_SEPARATOR).toBe("~");
    for (const name of shardNames("api:all", 8)) expect(isPlainName(name)).toBe(false);
  });

  it("keeps shard names apart from every name objectName accepts", () => {
    for (const name of ["page-views", "a", "A_b-9", "x".repeat(64)]) {
      expect(objectName.safeParse(name).success).toBe(true);
      expect(isPlainName(name)).toBe(true);
    }
    expect(objectName.safeParse(shardName("page-views", 3)).success).toBe(false);
  });

  it("calls a name with ~ anywhere in it not plain, since it could be taken for a shard", () => {
    expect(isPlainName("page~views")).toBe(false);
    expect(isPlainName("~")).toBe(false);
    expect(isPlainName("page-views")).toBe(true);
  });
});

describe("pickShard", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("picks every shard of 4 over many draws, and only those", () => {
    const seen = new Set<number>();
    for (let draw = 0; draw < 1_000; draw++) seen.add(pickShard(4));
    expect([...seen].sort((a, b) => a - b)).toEqual([0, 1, 2, 3]);
  });

  it("picks shard 0 of 1 every time", () => {
    for (let draw = 0; draw < 100; draw++) expect(pickShard(1)).toBe(0);
  });

  it("maps Math.random's whole range onto the shards evenly, never past the last", () => {
    const draw = (random: number) => {
      vi.spyOn(Math, "random").mockReturnValue(random);
      return pickShard(4);
    };
    expect(draw(0)).toBe(0);
    expect(draw(0.2499)).toBe(0);
    expect(draw(0.25)).toBe(1);
    expect(draw(0.75)).toBe(3);
    expect(draw(1 - Number.EPSILON)).toBe(3);
  });
});
