import { type Command, InvalidArgumentError } from "commander";
import { ApiError, BreakglassClient } from "./client.js";
import type { OutputMode } from "./output.js";

/** What every command action needs: the client and the global --json / --debug flags. */
export interface CommandContext extends OutputMode {
  client: BreakglassClient;
}

export function contextOf(command: Command): CommandContext {
  const { json, debug } = command.optsWithGlobals<{ json?: boolean; debug?: boolean }>();
  return { json: Boolean(json), debug: Boolean(debug), client: BreakglassClient.fromEnvironment() };
}

/** A commander option parser for whole numbers; a bad value is a usage error (exit 2). */
export function wholeNumber(text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new InvalidArgumentError("must be a whole number");
  return Number(text);
}

/** Algorithm names are upper case in the API; accept `sha256` as typed. */
export const upperCase = (text: string) => text.toUpperCase();

/** "a, b,c" as ["a", "b", "c"]; "" as none. */
export function commaList(text: string): string[] {
  return text
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/** The names under a path, as Vault's LIST: a 404 with no errors means there are none. */
export async function listNames(client: BreakglassClient, path: string): Promise<string[]> {
  const reply = await client.call("GET", path, { query: { list: true }, accept: [404] });
  const body = reply.body as { data?: { keys: string[] }; errors?: string[] } | null;
  if (reply.status === 404 && body?.errors?.[0]) throw ApiError.of(reply, undefined);
  return body?.data?.keys ?? [];
}
