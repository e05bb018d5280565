import { readdirSync } from "node:fs";
import { join } from "node:path";

/** Every file below `dir` whose name `matches` (TypeScript by default): what the code-base checks read. */
export function sourceFiles(dir: string, matches: RegExp = /\.ts$/): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter(
      (entry) => entry.isFile() && matches.test(entry.name) && !entry.parentPath.includes("node_modules"),
    )
    .map((entry) => join(entry.parentPath, entry.name));
}
