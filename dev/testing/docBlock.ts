import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { repoRoot } from "../../scaler/tools/paths.js";

/** The shell commands of a document's block between `<!-- name:start -->` and `<!-- name:end -->`. */
export async function docBlock(file: string, name: string): Promise<string> {
  const text = await readFile(join(repoRoot, file), "utf8");
  const section = new RegExp(
    `<!-- ${name}:start -->\\s*\`\`\`sh\\n([\\s\\S]*?)\`\`\`\\s*<!-- ${name}:end -->`,
  ).exec(text)?.[1];
  if (!section) throw new Error(`${file} has no \`\`\`sh block marked ${name}`);
  return section;
}
