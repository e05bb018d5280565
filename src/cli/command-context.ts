import { type Command, InvalidArgumentError } from "commander";
import { BreakglassClient } from "./client.js";
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
