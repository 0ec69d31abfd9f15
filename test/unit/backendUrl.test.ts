import { describe, expect, it } from "vitest";
import { engineBackendUrl } from "../../scaler/pulumi/workspace.js";

describe("the backend URL the engine is given", () => {
  it("asks a file:// backend for no metadata sidecars, keeping the path as written", () => {
    expect(engineBackendUrl("file:///var/lib/vpsie-autoscaler/state")).toBe(
      "file:///var/lib/vpsie-autoscaler/state?metadata=skip",
    );
    expect(engineBackendUrl("file://~/my state")).toBe("file://~/my state?metadata=skip");
    expect(engineBackendUrl("file:///state?no_tmp_dir=false")).toBe(
      "file:///state?no_tmp_dir=false&metadata=skip",
    );
  });

  it("keeps a person's own metadata choice, and every other backend, as given", () => {
    expect(engineBackendUrl("file:///state?metadata=")).toBe("file:///state?metadata=");
    expect(engineBackendUrl("postgres://u@db/pulumi?sslmode=disable")).toBe(
      "postgres://u@db/pulumi?sslmode=disable",
    );
    expect(engineBackendUrl("s3://bucket/state")).toBe("s3://bucket/state");
  });
});
