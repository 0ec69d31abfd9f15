/** The install program: `pulumi up` in deploy/pulumi with stack config `image` (and optional settings). */
import * as pulumi from "@pulumi/pulumi";
import { installVpsieAutoscaler } from "./install.js";

const config = new pulumi.Config();
const installed = installVpsieAutoscaler({
  image: config.require("image"),
  namespace: config.get("namespace"),
  replicas: config.getNumber("replicas"),
  secretName: config.get("secretName"),
  settings: config.getObject<Record<string, unknown>>("settings"),
});

export const namespace = installed.namespace;
export const deployment = installed.deploymentName;
