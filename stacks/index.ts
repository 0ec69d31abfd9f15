/** The program of the project's Pulumi.yaml: every member of every configured node group (see program.ts). */
import { declareNodeGroups } from "./program.js";

export const { groups } = declareNodeGroups();
