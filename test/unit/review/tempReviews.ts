import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach } from "vitest";
import { directoryReviews, type ReviewStore } from "../../../scaler/review/store.js";

/** A review store in a directory of its own for each test of the calling suite, removed after it. */
export function tempReviews(): { readonly store: ReviewStore } {
  let dir = "";
  let store: ReviewStore | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "reviews-"));
    store = directoryReviews(dir);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));
  return {
    get store() {
      if (!store) throw new Error("the review store exists only while a test runs");
      return store;
    },
  };
}
