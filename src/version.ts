import { readFileSync } from "node:fs";

/** The package version; this file sits one folder below package.json both in src/ and in dist/. */
export const VERSION: string = JSON.parse(
  readFileSync(new URL("../package.json", import.meta.url), "utf8"),
).version;
